import SheetSyncCore
import Yams

/// Which template sources a place in a job may use, and what they refer to.
struct TemplateScope {
    enum Kind { case pull, push }
    var kind: Kind
    var worksheet: WorksheetDefinition?
    var paginated: Bool
    /// Setup steps defined so far, with the values each extracts.
    var steps: [String: [String]] = [:]
    /// In a per-record step, `{{record.x}}` is a member of the source record.
    var recordIsSource = false

    static let pageNames = ["number", "offset", "size", "cursor"]
}

extension JobFileDecoder {
    static let requestKeys = ["method", "url", "query", "headers", "body", "timeout", "proxy", "verify_tls", "ca_file",
                              "success_codes", "error", "on_failure", "retry", "max_response_bytes"]
    static let bodyKeys = ["json", "form", "multipart", "raw", "binary", "content_type"]
    static let errorKeys = ["when", "code", "message", "retry"]
    static let retryKeys = ["attempts", "on", "delay", "max_delay", "non_idempotent"]
    static let multipartFileKeys = ["file", "filename", "content_type"]

    func decodeRequest(_ node: Node, scope: TemplateScope, isPush: Bool) -> HTTPRequestSpec? {
        guard let map = reader.mapping(node, context: "request", allowed: Self.requestKeys) else { return nil }
        var method = HTTPRequestSpec.Method.GET
        if isPush { method = .POST }
        if let n = map.value("method"), let text = reader.string(n, "request.method") {
            if let value = HTTPRequestSpec.Method(rawValue: text.uppercased()) {
                method = value
            } else {
                let known = HTTPRequestSpec.Method.allCases.map(\.rawValue)
                sink.error("invalid HTTP method '\(text)'\(Suggestion.didYouMean(text.uppercased(), in: known)) (expected one of: \(known.joined(separator: ", ")))", at: n.mark)
            }
        }
        var url: Template?
        if let n = reader.required("url", in: map), let template = reader.template(n, "request.url") {
            checkReferences(template, node: n, scope: scope)
            if template.isLiteral, !(template.text.hasPrefix("http://") || template.text.hasPrefix("https://")) {
                sink.error("request.url '\(template.text)' must start with http:// or https://", at: n.mark)
            }
            url = template
        }
        let query = map.value("query").map { namedTemplates($0, context: "request.query", scope: scope) } ?? []
        let headers = map.value("headers").map { namedTemplates($0, context: "request.headers", scope: scope, isHeader: true) } ?? []
        var spec = HTTPRequestSpec(method: method, url: url ?? Template(literal: ""), query: query, headers: headers)
        if let n = map.value("body") {
            spec.body = decodeBody(n, scope: scope, isPush: isPush)
            if spec.body != nil, method == .GET || method == .HEAD {
                sink.warning("a \(method.rawValue) request with a body; many servers ignore or refuse it", at: n.mark)
            }
        }
        if let n = map.value("timeout"), let value = reader.duration(n, "request.timeout") {
            if value <= .zero || value > .seconds(3600) {
                sink.error("'request.timeout' must be between 1ms and 1h, found '\(n.scalar?.string ?? "")'", at: n.mark)
            } else {
                spec.timeout = value
            }
        }
        if let n = map.value("proxy"), let value = reader.bool(n, "request.proxy") {
            spec.proxy = value
            for name in context.unsetProxySecrets where value {
                let file = context.secretsFileName.map { " or add it to \($0)" } ?? ""
                sink.warning("this request goes through the proxy of sheetsync.yml, whose secret '\(name)' is not set; export \(name)=…\(file) before running this job", at: n.mark)
            }
        }
        if let n = map.value("verify_tls"), let value = reader.bool(n, "request.verify_tls") { spec.verifyTLS = value }
        spec.caFile = map.value("ca_file").flatMap { reader.string($0, "request.ca_file") }
        if let n = map.value("success_codes"), let codes = reader.intList(n, "request.success_codes", range: 100...599) {
            spec.successCodes = codes
        }
        if let n = map.value("error"), let errorMap = reader.mapping(n, context: "request.error", allowed: Self.errorKeys) {
            spec.error = ErrorExtraction(code: errorMap.value("code").flatMap { reader.jsonPath($0, "request.error.code") },
                                         message: errorMap.value("message").flatMap { reader.jsonPath($0, "request.error.message") })
            if let whenNode = errorMap.value("when"), let text = reader.string(whenNode, "request.error.when") {
                do {
                    spec.error?.when = try ResponseCondition(parsing: text)
                } catch {
                    sink.error(error.message, at: whenNode.mark)
                }
            }
            if let retryNode = errorMap.value("retry"), let retry = reader.bool(retryNode, "request.error.retry") {
                if spec.error?.when == nil {
                    sink.error("'request.error.retry' retries the responses 'when' makes failures; add 'when', or use 'request.retry' for HTTP failures", at: retryNode.mark)
                }
                spec.error?.retry = retry
            }
        }
        if let n = map.value("on_failure"), let value = reader.enumValue(n, "request.on_failure", as: HTTPRequestSpec.FailurePolicy.self) {
            spec.onFailure = value
        }
        if let n = map.value("retry"), let retryMap = reader.mapping(n, context: "request.retry", allowed: Self.retryKeys) {
            if let a = retryMap.value("attempts"), let value = reader.int(a, "request.retry.attempts", range: 1...20) { spec.retry.attempts = value }
            if let o = retryMap.value("on"), let codes = reader.intList(o, "request.retry.on", range: 100...599) { spec.retry.on = codes }
            if let d = retryMap.value("delay"), let value = reader.duration(d, "request.retry.delay") { spec.retry.initialDelay = value }
            if let d = retryMap.value("max_delay"), let value = reader.duration(d, "request.retry.max_delay") { spec.retry.maxDelay = value }
            if let b = retryMap.value("non_idempotent"), let value = reader.bool(b, "request.retry.non_idempotent") { spec.retry.nonIdempotent = value }
        }
        if let n = map.value("max_response_bytes") { spec.maxResponseBytes = reader.byteSize(n, "request.max_response_bytes") }
        return url == nil ? nil : spec
    }

    private func namedTemplates(_ node: Node, context: String, scope: TemplateScope, isHeader: Bool = false) -> [NamedTemplate] {
        guard let pairs = node.mapping else {
            sink.error("expected a mapping of names to values for '\(context)', found \(reader.describe(node))", at: node.mark)
            return []
        }
        var result: [NamedTemplate] = []
        for (keyNode, valueNode) in pairs {
            guard let name = keyNode.scalar?.string else { continue }
            guard valueNode.scalar != nil, let template = reader.template(valueNode, "\(context).\(name)") else {
                if valueNode.scalar == nil {
                    sink.error("expected a text value for '\(context).\(name)', found \(reader.describe(valueNode))", at: valueNode.mark)
                }
                continue
            }
            checkReferences(template, node: valueNode, scope: scope)
            if isHeader {
                if template.text.utf8.contains(10) || template.text.utf8.contains(13) {
                    sink.error("header '\(name)' contains a line break, which would split the request", at: valueNode.mark)
                }
                let lower = name.lowercased()
                let looksSecret = lower == "authorization" || lower.contains("token") || lower.contains("api-key") || lower.contains("apikey")
                if looksSecret, template.isLiteral, !template.text.isEmpty {
                    sink.error("header '\(name)' holds a literal credential; job files live in git, so use a secret such as '{{secret.API_TOKEN}}'", at: valueNode.mark)
                }
            }
            result.append(NamedTemplate(name: name, value: template))
        }
        return result
    }

    private func decodeBody(_ node: Node, scope: TemplateScope, isPush: Bool) -> RequestBody? {
        if let text = node.scalar?.string, !reader.isNull(node) {
            if text == "record" {
                if isPush { return .record }
                sink.error("'body: record' sends the record being pushed and is only available in push jobs", at: node.mark)
                return nil
            }
            sink.error("expected 'record' or a mapping with one of json, form, multipart, raw, binary for 'request.body', found \(reader.describe(node))", at: node.mark)
            return nil
        }
        guard let map = reader.mapping(node, context: "request.body", allowed: Self.bodyKeys) else { return nil }
        let forms = ["json", "form", "multipart", "raw", "binary"].filter(map.has)
        guard forms.count == 1 else {
            let message = forms.isEmpty
                ? "'request.body' needs one of json, form, multipart, raw, binary"
                : "'request.body' has \(forms.joined(separator: " and ")); a body has exactly one form"
            sink.error(message, at: node.mark)
            return nil
        }
        let contentType = map.value("content_type").flatMap { reader.string($0, "request.body.content_type") }
        let valueNode = map.value(forms[0])!
        if isPush, forms[0] == "multipart" || forms[0] == "binary" {
            sink.error("a push job sends each record as 'body: record', json, form or raw; '\(forms[0])' bodies are for pull requests", at: valueNode.mark)
            return nil
        }
        switch forms[0] {
        case "json":
            if contentType != nil { sink.warning("'content_type' is ignored for a json body (it is application/json)", at: map.keyNode("content_type")?.mark) }
            return jsonTemplate(valueNode, scope: scope).map(RequestBody.json)
        case "form":
            return .form(namedTemplates(valueNode, context: "request.body.form", scope: scope))
        case "multipart":
            return decodeMultipart(valueNode, scope: scope)
        case "raw":
            guard let template = reader.template(valueNode, "request.body.raw") else { return nil }
            checkReferences(template, node: valueNode, scope: scope)
            return .raw(template, contentType: contentType ?? "text/plain; charset=utf-8")
        default:
            guard let template = reader.template(valueNode, "request.body.binary") else { return nil }
            checkReferences(template, node: valueNode, scope: scope)
            return .binary(path: template, contentType: contentType ?? "application/octet-stream")
        }
    }

    private func decodeMultipart(_ node: Node, scope: TemplateScope) -> RequestBody? {
        guard let pairs = node.mapping else {
            sink.error("expected a mapping of part names to values or files for 'request.body.multipart', found \(reader.describe(node))", at: node.mark)
            return nil
        }
        var parts: [MultipartPart] = []
        for (keyNode, valueNode) in pairs {
            guard let name = keyNode.scalar?.string else { continue }
            if valueNode.mapping != nil {
                guard let fileMap = reader.mapping(valueNode, context: "request.body.multipart.\(name)", allowed: Self.multipartFileKeys),
                      let fileNode = reader.required("file", in: fileMap),
                      let path = reader.template(fileNode, "file") else { continue }
                checkReferences(path, node: fileNode, scope: scope)
                let filenameNode = fileMap.value("filename")
                let filename = filenameNode.flatMap { reader.template($0, "request.body.multipart.\(name).filename") }
                if let filename, let filenameNode { checkReferences(filename, node: filenameNode, scope: scope) }
                parts.append(MultipartPart(name: name, content: .file(
                    path: path,
                    filename: filename,
                    contentType: fileMap.value("content_type").flatMap { reader.string($0, "content_type") })))
            } else if let template = reader.template(valueNode, "request.body.multipart.\(name)") {
                checkReferences(template, node: valueNode, scope: scope)
                parts.append(MultipartPart(name: name, content: .text(template)))
            }
        }
        return .multipart(parts)
    }

    /// A YAML tree as a JSON template: scalars keep their YAML type, strings are templates.
    private func jsonTemplate(_ node: Node, scope: TemplateScope) -> JSONTemplate? {
        switch node {
        case .mapping(let mapping):
            var members: [JSONTemplate.Member] = []
            for (key, value) in mapping {
                guard let name = key.scalar?.string, let converted = jsonTemplate(value, scope: scope) else { continue }
                members.append(JSONTemplate.Member(key: name, value: converted))
            }
            return .object(members)
        case .sequence(let sequence):
            return .array(sequence.compactMap { jsonTemplate($0, scope: scope) })
        case .scalar(let scalar):
            if reader.isNull(node) { return .null }
            if scalar.style == .plain {
                if let value = node.bool, ["true", "false"].contains(scalar.string.lowercased()) { return .bool(value) }
                if node.int != nil || node.float != nil, let normalized = DecimalText.normalize(scalar.string) { return .number(normalized) }
            }
            guard let template = reader.template(text: scalar.string, node: node) else { return nil }
            checkReferences(template, node: node, scope: scope)
            return .string(template)
        case .alias:
            sink.error("YAML aliases are not supported in a json body", at: node.mark)
            return nil
        }
    }

    /// Checks every reference of a template: is its source available here, and does
    /// the variable, secret or field it names exist?
    func checkReferences(_ template: Template, node: Node, scope: TemplateScope) {
        for reference in template.references {
            switch reference.source {
            case .env:
                if !context.hasEnv(reference.name) {
                    reader.error("environment variable '\(reference.name)' is not set; export \(reference.name)=… or give it a default under 'env:' in sheetsync.yml", reference: reference, in: node)
                }
            case .secret:
                if !context.hasSecret(reference.name) {
                    let file = context.secretsFileName.map { " or add it to \($0)" } ?? ""
                    reader.warning("secret '\(reference.name)' is not set; export \(reference.name)=…\(file) before running this job", reference: reference, in: node)
                }
            case .record where scope.recordIsSource:
                break
            case .record:
                if scope.kind == .pull {
                    reader.error("'{{\(reference)}}' is only available in push jobs; a pull job has no current record", reference: reference, in: node)
                } else if let worksheet = scope.worksheet, let field = reference.path.first,
                          worksheet.field(named: field) == nil, !WorksheetDefinition.systemColumns.contains(field) {
                    reader.error("'{{\(reference)}}' names field '\(field)', which is not in worksheet '\(worksheet.name)'\(Suggestion.didYouMean(field, in: worksheet.fields.map(\.name)))", reference: reference, in: node)
                }
            case .state, .window:
                if scope.kind == .push {
                    reader.error("'{{\(reference)}}' is only available in pull jobs", reference: reference, in: node)
                }
            case .page:
                if scope.kind == .push || !scope.paginated {
                    reader.error("'{{\(reference)}}' needs 'paginate' in this job", reference: reference, in: node)
                } else if !TemplateScope.pageNames.contains(reference.name) {
                    reader.error("unknown page value '\(reference.name)'\(Suggestion.didYouMean(reference.name, in: TemplateScope.pageNames)) (expected one of: \(TemplateScope.pageNames.joined(separator: ", ")))", reference: reference, in: node)
                }
            case .steps:
                let step = reference.path[0]
                let value = reference.path.dropFirst().joined(separator: ".")
                if let values = scope.steps[step] {
                    if !values.contains(value) {
                        reader.error("step '\(step)' extracts no value '\(value)'\(Suggestion.didYouMean(value, in: values)); add it under the step's 'values'", reference: reference, in: node)
                    }
                } else if scope.steps.isEmpty {
                    reader.error("'{{\(reference)}}' names step '\(step)', but this job has no steps before this request", reference: reference, in: node)
                } else {
                    reader.error("'{{\(reference)}}' names step '\(step)', which is not an earlier step (not per_record)\(Suggestion.didYouMean(step, in: scope.steps.keys.sorted()))", reference: reference, in: node)
                }
            case .param:
                break
            }
        }
    }
}
