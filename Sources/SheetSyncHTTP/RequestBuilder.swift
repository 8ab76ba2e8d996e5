import Foundation
import SheetSyncCore

/// Fills in a job's request templates and encodes its body.
public struct RequestBuilder: Sendable {
    /// Relative file paths in bodies and `ca_file` are relative to this directory.
    public var projectDirectory: URL
    public var userAgent: String
    public var defaultMaxResponseBytes: Int

    public init(projectDirectory: URL, userAgent: String = HTTPDefaults().userAgent,
                defaultMaxResponseBytes: Int = HTTPDefaults.defaultMaxResponseBytes) {
        self.projectDirectory = projectDirectory
        self.userAgent = userAgent
        self.defaultMaxResponseBytes = defaultMaxResponseBytes
    }

    /// Builds the request, or throws `.invalidRequest` saying which value is missing
    /// or which file cannot be read.
    public func build(_ spec: HTTPRequestSpec, values: TemplateValues, record: JSONValue? = nil,
                      extraQuery: [(String, String)] = []) throws(HTTPStepError) -> PreparedRequest {
        do {
            var url = try spec.url.renderURL(values)
            var query: [(String, String)] = []
            for item in spec.query {
                let value = try item.value.renderText(values)
                // A value of saved state that is empty — no state yet — is left out:
                // `updated_since={{state.cursor}}` on a first run sent `updated_since=`, which
                // APIs refuse as a bad date. Any other empty value is sent as `name=`: a blank
                // given on purpose (`--param ip=`, a literal "").
                let references = item.value.references
                if value.isEmpty, !references.isEmpty, references.allSatisfy({ $0.source == .state }) { continue }
                query.append((item.name, value))
            }
            query += extraQuery
            if !query.isEmpty {
                let encoded = query.map { PercentEncoding.encode($0.0) + "=" + PercentEncoding.encode($0.1) }.joined(separator: "&")
                url += (url.contains("?") ? "&" : "?") + encoded
            }
            if let reason = Origin.refusal(for: url) {
                throw HTTPStepError(.refusedURL, "the request URL '\(url)' cannot be requested: \(reason); check 'request.url' and the values it uses")
            }
            var headers: [(name: String, value: String)] = [("User-Agent", userAgent)]
            for header in spec.headers {
                headers.removeAll { $0.name.lowercased() == header.name.lowercased() }
                headers.append((header.name, try header.value.renderHeader(values, name: header.name)))
            }
            var body: [UInt8]?
            if let specBody = spec.body {
                let (bytes, contentType) = try encode(specBody, values: values, record: record)
                body = bytes
                if !headers.contains(where: { $0.name.lowercased() == "content-type" }) {
                    headers.append(("Content-Type", contentType))
                }
            }
            var request = PreparedRequest(
                method: spec.method, url: url, headers: headers, body: body, timeout: spec.timeout,
                useProxy: spec.proxy, verifyTLS: spec.verifyTLS, caFile: spec.caFile.map { resolve($0).path },
                successCodes: spec.successCodes, retry: spec.retry, error: spec.error,
                maxResponseBytes: spec.maxResponseBytes ?? defaultMaxResponseBytes)
            request.secretHeaders = Self.secretHeaders(spec)
            return request
        } catch let error as CoreError {
            throw HTTPStepError(.invalidRequest, error.message)
        } catch let error as HTTPStepError {
            throw error
        } catch {
            throw HTTPStepError(.invalidRequest, "\(error)")
        }
    }

    /// Lowercased names of the headers whose template uses a secret.
    static func secretHeaders(_ spec: HTTPRequestSpec) -> Set<String> {
        Set(spec.headers.filter { $0.value.references.contains { $0.source == .secret } }.map { $0.name.lowercased() })
    }

    func resolve(_ path: String) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path) : projectDirectory.appendingPathComponent(path)
    }

    private func readFile(_ path: String) throws(HTTPStepError) -> [UInt8] {
        let url = resolve(path)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw HTTPStepError(.invalidRequest, "cannot read the body file '\(path)' (looked at \(url.path)); check the path, relative to the project directory")
        }
        return Array(data)
    }

    private func encode(_ body: RequestBody, values: TemplateValues, record: JSONValue?) throws -> ([UInt8], String) {
        switch body {
        case .json(let template):
            return (Array(try template.render(values).jsonText.utf8), "application/json")
        case .record:
            return (Array((record ?? .null).jsonText.utf8), "application/json")
        case .form(let fields):
            var pairs: [String] = []
            for field in fields {
                pairs.append(PercentEncoding.formEncode(field.name) + "=" + PercentEncoding.formEncode(try field.value.renderText(values)))
            }
            return (Array(pairs.joined(separator: "&").utf8), "application/x-www-form-urlencoded")
        case .raw(let template, let contentType):
            return (Array(try template.renderText(values).utf8), contentType)
        case .binary(let path, let contentType):
            return (try readFile(try path.renderText(values)), contentType)
        case .multipart(let parts):
            let boundary = "sheetsync-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            var out: [UInt8] = []
            func line(_ text: String) { out += Array((text + "\r\n").utf8) }
            for part in parts {
                line("--" + boundary)
                switch part.content {
                case .text(let template):
                    line("Content-Disposition: form-data; name=\"\(Self.quoted(part.name))\"")
                    line("")
                    out += Array(try template.renderText(values).utf8)
                    line("")
                case .file(let pathTemplate, let filename, let contentType):
                    let path = try pathTemplate.renderText(values)
                    // A rendered value is data: quoted below, never read as a template again.
                    let name = try filename?.renderText(values) ?? URL(fileURLWithPath: path).lastPathComponent
                    line("Content-Disposition: form-data; name=\"\(Self.quoted(part.name))\"; filename=\"\(Self.quoted(name))\"")
                    line("Content-Type: \(contentType ?? "application/octet-stream")")
                    line("")
                    out += try readFile(path)
                    line("")
                }
            }
            line("--" + boundary + "--")
            return (out, "multipart/form-data; boundary=\(boundary)")
        }
    }

    /// Quotes a name for a Content-Disposition parameter (RFC 7578: escape `"` and line breaks).
    static func quoted(_ name: String) -> String {
        name.replacingOccurrences(of: "\"", with: "%22").replacingOccurrences(of: "\r", with: "%0D").replacingOccurrences(of: "\n", with: "%0A")
    }
}
