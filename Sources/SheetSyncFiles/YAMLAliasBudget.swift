import CYaml

/// Measures what a YAML text grows to once its aliases are expanded, without
/// expanding them, so that a small file cannot cost gigabytes ("billion laughs").
///
/// Yams shares an aliased node instead of copying it, but everything that reads the
/// tree afterwards walks each alias in full: ten lines of nested `&a`/`*a` reach 9^9
/// nodes. Job, schema, settings and secrets files are read on every command and
/// `serve` rereads them every 2 s, so the budget is checked on libyaml's events before
/// Yams composes anything. Real files use a handful of aliases and stay far below it.
struct YAMLAliasBudget {
    /// Nodes the file may expand to, aliases counted at the size of what they name.
    static let maxExpandedNodes = 100_000
    /// Aliases the file may use at all.
    static let maxAliases = 1_000

    /// Where and why a text went over the budget.
    struct Overrun: Equatable {
        /// 1-based, as in diagnostics; the column counts Unicode scalars, as libyaml does.
        var line: Int
        var column: Int
        var message: String
    }

    /// The first alias that takes `text` over the budget, or nil when it stays within
    /// it. A text libyaml cannot parse is also nil: composing it reports the syntax
    /// error, and stops there, before any alias is expanded.
    static func firstOverrun(in text: String) -> Overrun? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return nil }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return nil }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        return bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var counter = Counter()
            var event = yaml_event_t()
            while yaml_parser_parse(&parser, &event) == 1 {
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { return nil }
                if let overrun = counter.take(event) { return overrun }
            }
            return nil
        }
    }

    /// Running sizes: of each collection still open, of each anchored node, in total.
    private struct Counter {
        /// Open sequences and mappings, innermost last: their anchor and size so far.
        var open: [(anchor: String?, size: Int)] = []
        /// The expanded size of each anchored node, by anchor (a later anchor of the
        /// same name replaces the earlier one, as in YAML).
        var anchored: [String: Int] = [:]
        var total = 0
        var aliases = 0

        mutating func take(_ event: yaml_event_t) -> Overrun? {
            switch event.type {
            case YAML_SCALAR_EVENT:
                total += 1
                finished(size: 1, anchor: Self.string(event.data.scalar.anchor))
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                let anchor = event.type == YAML_SEQUENCE_START_EVENT ? event.data.sequence_start.anchor : event.data.mapping_start.anchor
                total += 1
                open.append((Self.string(anchor), 1))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                // Its nodes were added to the total as they came.
                if let collection = open.popLast() { finished(size: collection.size, anchor: collection.anchor) }
            case YAML_ALIAS_EVENT:
                let name = Self.string(event.data.alias.anchor) ?? ""
                // An alias to an anchor not yet complete or not defined counts as one
                // node; composing reports it.
                let size = anchored[name] ?? 1
                aliases += 1
                total += size
                finished(size: size, anchor: nil)
                let line = Int(event.start_mark.line) + 1, column = Int(event.start_mark.column) + 1
                if aliases > YAMLAliasBudget.maxAliases {
                    return Overrun(line: line, column: column, message: """
                        this file uses more than \(YAMLAliasBudget.maxAliases.formatted) YAML aliases, the limit; \
                        YAML aliases in job, schema and settings files must stay small, so write the repeated values out
                        """)
                }
                if total > YAMLAliasBudget.maxExpandedNodes {
                    return Overrun(line: line, column: column, message: """
                        alias '*\(name)' would expand this file past \(YAMLAliasBudget.maxExpandedNodes.formatted) YAML nodes, the limit; \
                        YAML aliases in job, schema and settings files must stay small, so write the repeated values out or nest fewer aliases
                        """)
                }
            default:
                break
            }
            return nil
        }

        /// A node is complete: it counts whole in its parent, and under its anchor.
        private mutating func finished(size: Int, anchor: String?) {
            if let anchor { anchored[anchor] = size }
            if !open.isEmpty { open[open.count - 1].size += size }
        }

        private static func string(_ pointer: UnsafeMutablePointer<UInt8>?) -> String? {
            pointer.map { String(cString: $0) }
        }
    }
}

private extension Int {
    /// `100000` as `100,000`.
    var formatted: String {
        let digits = Array(String(self))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out += "," }
            out.append(digit)
        }
        return out
    }
}
