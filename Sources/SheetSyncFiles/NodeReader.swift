import Foundation
import SheetSyncCore
import Yams

/// Reads typed values out of YAML nodes, reporting every problem to a sink at the
/// node's line and column instead of stopping at the first one.
struct NodeReader {
    let sink: DiagnosticSink

    /// A mapping node with unknown keys already reported.
    struct Mapping {
        let node: Node
        let context: String
        let entries: [(key: String, keyNode: Node, value: Node)]

        func value(_ key: String) -> Node? {
            entries.first { $0.key == key }?.value
        }

        func keyNode(_ key: String) -> Node? {
            entries.first { $0.key == key }?.keyNode
        }

        func has(_ key: String) -> Bool { value(key) != nil }

        /// "in 'request'", or "" at the top level.
        var where_: String { context.isEmpty ? "" : " in '\(context)'" }
    }

    /// Reads `node` as a mapping and reports keys not in `allowed` (with a did-you-mean).
    func mapping(_ node: Node, context: String, allowed: [String]) -> Mapping? {
        guard let mapping = node.mapping else {
            sink.error("expected a mapping for '\(context)', found \(describe(node))", at: node.mark)
            return nil
        }
        var entries: [(String, Node, Node)] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                sink.error("expected a plain key\(context.isEmpty ? "" : " in '\(context)'"), found \(describe(keyNode))", at: keyNode.mark)
                continue
            }
            if !allowed.contains(key) {
                let place = context.isEmpty ? "" : " in '\(context)'"
                sink.error("unknown key '\(key)'\(place)\(Suggestion.didYouMean(key, in: allowed))", at: keyNode.mark)
                continue
            }
            entries.append((key, keyNode, value))
        }
        return Mapping(node: node, context: context, entries: entries)
    }

    /// The value of a required key, or a "missing required key" error at the mapping.
    func required(_ key: String, in mapping: Mapping, hint: String = "") -> Node? {
        if let value = mapping.value(key) { return value }
        sink.error("missing required key '\(key)'\(mapping.where_)\(hint)", at: mapping.node.mark)
        return nil
    }

    // MARK: - Scalars

    /// True for an empty value, `~` or `null`.
    func isNull(_ node: Node) -> Bool {
        guard let scalar = node.scalar else { return false }
        return scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    func string(_ node: Node, _ what: String) -> String? {
        guard let scalar = node.scalar, !isNull(node) else {
            sink.error("expected a string for '\(what)', found \(describe(node))", at: node.mark)
            return nil
        }
        return scalar.string
    }

    func int(_ node: Node, _ what: String, range: ClosedRange<Int>? = nil) -> Int? {
        guard let text = node.scalar?.string, let value = Int(text.replacingOccurrences(of: "_", with: "")) else {
            sink.error("expected an integer for '\(what)', found \(describe(node))", at: node.mark)
            return nil
        }
        if let range, !range.contains(value) {
            sink.error("'\(what)' must be between \(range.lowerBound) and \(range.upperBound), found \(value)", at: node.mark)
            return nil
        }
        return value
    }

    func double(_ node: Node, _ what: String) -> Double? {
        guard let text = node.scalar?.string, let value = Double(text), value.isFinite, value > 0 else {
            sink.error("expected a positive number for '\(what)', found \(describe(node))", at: node.mark)
            return nil
        }
        return value
    }

    func bool(_ node: Node, _ what: String) -> Bool? {
        switch node.scalar?.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            sink.error("expected true or false for '\(what)', found \(describe(node))", at: node.mark)
            return nil
        }
    }

    func duration(_ node: Node, _ what: String) -> Duration? {
        guard let text = string(node, what) else { return nil }
        do {
            return try DurationText.parse(text)
        } catch {
            sink.error("\(error.message) for '\(what)'", at: node.mark)
            return nil
        }
    }

    /// A byte size: an integer, or text such as `64MiB`, `10MB`, `512KiB`.
    func byteSize(_ node: Node, _ what: String) -> Int? {
        guard let text = string(node, what) else { return nil }
        let units: [(String, Int)] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("GB", 1_000_000_000),
                                      ("MB", 1_000_000), ("KB", 1000), ("kB", 1000), ("B", 1), ("", 1)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count).trimming(" ")
            if let value = Int(number), value > 0 { return value * scale }
        }
        sink.error("expected a size for '\(what)' such as 1048576, '64MiB' or '10MB', found \(describe(node))", at: node.mark)
        return nil
    }

    func enumValue<E: RawRepresentable & CaseIterable>(_ node: Node, _ what: String, as _: E.Type) -> E? where E.RawValue == String {
        guard let text = string(node, what) else { return nil }
        if let value = E(rawValue: text) { return value }
        let allowed = E.allCases.map(\.rawValue)
        sink.error("invalid value '\(text)' for '\(what)'\(Suggestion.didYouMean(text, in: allowed)) (expected one of: \(allowed.joined(separator: ", ")))", at: node.mark)
        return nil
    }

    /// A string or a list of strings.
    func stringList(_ node: Node, _ what: String) -> [String]? {
        if let sequence = node.sequence {
            let values = sequence.compactMap { string($0, what) }
            return values.count == sequence.count ? values : nil
        }
        return string(node, what).map { [$0] }
    }

    func intList(_ node: Node, _ what: String, range: ClosedRange<Int>? = nil) -> [Int]? {
        if let sequence = node.sequence {
            let values = sequence.compactMap { int($0, what, range: range) }
            return values.count == sequence.count ? values : nil
        }
        // Allow the reference product's "200,201" form too.
        if let text = node.scalar?.string, text.contains(",") {
            let values = text.split(separator: ",").compactMap { Int($0.trimming(" ")) }
            if values.count == text.split(separator: ",").count, values.allSatisfy({ range?.contains($0) ?? true }) { return values }
        }
        return int(node, what, range: range).map { [$0] }
    }

    // MARK: - Core values with positions

    /// Column offset of character `offset` inside a one-line scalar (quotes skipped).
    private func columnOffset(_ node: Node, _ offset: Int?) -> Int {
        guard let offset, let scalar = node.scalar, !scalar.string.contains("\n") else { return 0 }
        switch scalar.style {
        case .plain: return offset
        case .singleQuoted, .doubleQuoted: return offset + 1
        default: return 0
        }
    }

    func jsonPath(_ node: Node, _ what: String) -> JSONPath? {
        guard let text = string(node, what) else { return nil }
        do {
            return try JSONPath(parsing: text)
        } catch {
            sink.error(error.message, at: node.mark, columnOffset: columnOffset(node, error.offset))
            return nil
        }
    }

    func template(_ node: Node, _ what: String) -> Template? {
        guard let scalar = node.scalar else {
            sink.error("expected a string for '\(what)', found \(describe(node))", at: node.mark)
            return nil
        }
        return template(text: scalar.string, node: node)
    }

    func template(text: String, node: Node) -> Template? {
        do {
            return try Template(parsing: text)
        } catch {
            sink.error(error.message, at: node.mark, columnOffset: columnOffset(node, error.offset))
            return nil
        }
    }

    /// Reports a core parsing error at the column it points to inside the scalar.
    func error(_ error: CoreError, in node: Node) {
        sink.error(error.message, at: node.mark, columnOffset: columnOffset(node, error.offset))
    }

    /// Reports a problem with one reference of a template at that reference's column.
    func error(_ message: String, reference: TemplateReference, in node: Node) {
        sink.error(message, at: node.mark, columnOffset: columnOffset(node, reference.offset))
    }

    func warning(_ message: String, reference: TemplateReference, in node: Node) {
        sink.warning(message, at: node.mark, columnOffset: columnOffset(node, reference.offset))
    }

    /// How a node looks in an error message: `a mapping`, `a list`, `'abc'`, `nothing`.
    func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            if isNull(node) { return "nothing" }
            let text = scalar.string
            return "'\(text.count > 40 ? text.prefix(37) + "..." : text)'"
        }
    }
}

extension StringProtocol {
    func trimming(_ set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
