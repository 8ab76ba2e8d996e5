import SheetSyncCore

extension InferredWorksheet {
    /// The worksheet as `schema/NAME.yml` text (the format `SchemaFileDecoder` reads),
    /// with comments on the key and on the fields to check.
    public func schemaYAML() -> String {
        var lines: [String] = []
        if let parent {
            let elements = sampleCount == 1 ? "1 element" : "\(sampleCount) elements"
            lines.append("# Proposed by 'sheetsync infer' from \(elements) of '\(self.records.text)' in the sampled '\(parent)' records.")
        } else {
            lines.append("# Proposed by 'sheetsync infer' from \(sampleCount == 1 ? "1 sampled record" : "\(sampleCount) sampled records").")
        }
        lines.append("worksheet: \(name)")
        switch keySource {
        case .given: break
        case .job: lines.append("# key from the job's 'key'")
        case .guessed(let reason): lines.append("# key guessed from the sample (\(reason)): check it")
        case .missing(let reason): lines.append("# no key found: \(reason); name the fields that identify a record (sheetsync infer --key FIELD)")
        }
        lines.append("key: [\(key.joined(separator: ", "))]")
        lines.append("fields:")
        for field in fields {
            var line = "  \(field.name): \(field.type.rawValue)"
            if field.isLink {
                line += "  # links each row to its '\(parent ?? "parent")' row"
            } else if let note = field.note {
                line += "  # \(note)"
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The job's `fields:` and (when there are any) `children:` block, at the top level
    /// of a job file.
    public func mappingYAML() -> String {
        var lines = ["fields:"]
        for field in fields {
            lines.append("  \(field.name): \(Self.quoted(field.path.text))")
        }
        if !children.isEmpty {
            lines.append("children:")
            for child in children { child.appendChild(to: &lines, indent: "  ") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func appendChild(to lines: inout [String], indent: String) {
        lines.append("\(indent)- worksheet: \(name)")
        lines.append("\(indent)  records: \(Self.quoted(records.text))")
        lines.append("\(indent)  fields:")
        for field in fields {
            lines.append("\(indent)    \(field.name): \(Self.quoted(field.path.text))")
        }
        if !children.isEmpty {
            lines.append("\(indent)  children:")
            for child in children { child.appendChild(to: &lines, indent: indent + "    ") }
        }
    }

    /// A YAML double-quoted scalar: paths with `'`, `[` or `#` read back as written.
    public static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + String(format2: scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

private extension String {
    /// Two hexadecimal digits.
    init(format2 value: UInt32) {
        let digits = Array("0123456789ABCDEF")
        self = String([digits[Int(value >> 4) & 0xF], digits[Int(value) & 0xF]])
    }
}
