import Foundation
import Testing
import SheetSyncCore
@testable import SheetSyncHTTP
import SheetSyncTesting

/// Every method and body kind arrives at a real server exactly as configured.
struct HTTPRequestTests {
    let noRedaction = Redactor(secrets: [])

    func send(_ spec: HTTPRequestSpec, values: TemplateValues = TemplateValues(), directory: URL? = nil,
              transport: HTTPTransport) async throws -> HTTPResponseData {
        let builder = RequestBuilder(projectDirectory: directory ?? URL(fileURLWithPath: "/tmp"))
        let request = try builder.build(spec, values: values)
        return try await transport.send(request, redactor: noRedaction).result.get()
    }

    @Test(arguments: [HTTPRequestSpec.Method.GET, .POST, .PUT, .PATCH, .DELETE])
    func everyMethodArrives(_ method: HTTPRequestSpec.Method) async throws {
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                let response = try await send(spec(method, server.baseURL + "/echo"), transport: transport)
                #expect(try Echo(response).method == method.rawValue)
            }
        }
    }

    @Test func headHasNoBody() async throws {
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                let response = try await send(spec(.HEAD, server.baseURL + "/echo"), transport: transport)
                #expect(response.status == 200)
                #expect(response.body.isEmpty)
            }
        }
    }

    @Test func staticAndDynamicURLPartsAndQueryAreEncoded() async throws {
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                let values = TemplateValues(env: ["BASE": server.baseURL], params: ["q": "a b&c=d/é", "kind": "x/y?z"])
                let response = try await send(spec(.GET, "{{env.BASE}}/echo?fixed=1&kind={{param.kind}}", query: [("q", "{{param.q}}"), ("n", "5")]),
                                              values: values, transport: transport)
                let echo = try Echo(response)
                #expect(echo.path == "/echo")
                #expect(echo.query == "fixed=1&kind=x%2Fy%3Fz&q=a%20b%26c%3Dd%2F%C3%A9&n=5")
            }
        }
    }

    /// Issue 18: `updated_since={{state.cursor}}` on a first run was sent as `updated_since=`.
    /// A value of saved state that renders empty is left out; other blanks are sent as given.
    @Test func aQueryValueThatRendersEmptyIsLeftOut() throws {
        let builder = RequestBuilder(projectDirectory: URL(fileURLWithPath: "/tmp"))
        let values = TemplateValues(params: ["empty": "", "full": "x"], state: ["cursor": ""])
        let request = try builder.build(spec(.GET, "http://127.0.0.1:9/a", query: [
            ("since", "{{state.cursor}}"), ("both", "{{param.empty}}{{param.empty}}"), ("literal", ""), ("set", "{{param.full}}"), ("mixed", "p{{param.empty}}"),
        ]), values: values)
        #expect(request.url == "http://127.0.0.1:9/a?both=&literal=&set=x&mixed=p")
    }

    @Test func headersCarrySecretsAndRefuseLineBreaks() async throws {
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                let values = TemplateValues(secrets: ["TOKEN": "t0k3n"], params: ["evil": "x\r\nX-Injected: 1"])
                let response = try await send(spec(.GET, server.baseURL + "/echo", headers: [("Authorization", "Bearer {{secret.TOKEN}}"), ("X-Trace", "abc")]),
                                              values: values, transport: transport)
                let echo = try Echo(response)
                #expect(echo.header("Authorization") == "Bearer t0k3n")
                #expect(echo.header("X-Trace") == "abc")
                #expect(echo.header("User-Agent") == "sheetsync/0.1")
                let builder = RequestBuilder(projectDirectory: URL(fileURLWithPath: "/tmp"))
                #expect(throws: HTTPStepError.self) {
                    try builder.build(spec(.GET, server.baseURL + "/echo", headers: [("X-Evil", "{{param.evil}}")]), values: values)
                }
            }
        }
    }

    @Test func jsonBodyIsTypedAndExact() async throws {
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                let body = JSONTemplate.object([
                    .init(key: "q", value: .string(template("{{param.q}}"))),
                    .init(key: "label", value: .string(template("status={{param.q}}"))),
                    .init(key: "n", value: .number("5")),
                    .init(key: "ok", value: .bool(true)),
                    .init(key: "list", value: .array([.null, .number("1.50")])),
                ])
                let response = try await send(spec(.POST, server.baseURL + "/echo", body: .json(body)),
                                              values: TemplateValues(params: ["q": "paid \"now\""]), transport: transport)
                let echo = try Echo(response)
                #expect(String(decoding: echo.body, as: UTF8.self) == #"{"q":"paid \"now\"","label":"status=paid \"now\"","n":5,"ok":true,"list":[null,1.50]}"#)
                #expect(echo.header("Content-Type") == "application/json")
            }
        }
    }

    @Test func formBodyIsURLEncoded() async throws {
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                let body = RequestBody.form([NamedTemplate(name: "a", value: template("1")), NamedTemplate(name: "b c", value: template("{{param.v}}"))])
                let response = try await send(spec(.POST, server.baseURL + "/echo", body: body), values: TemplateValues(params: ["v": "x y&z=é"]), transport: transport)
                let echo = try Echo(response)
                #expect(String(decoding: echo.body, as: UTF8.self) == "a=1&b+c=x+y%26z%3D%C3%A9")
                #expect(echo.header("Content-Type") == "application/x-www-form-urlencoded")
            }
        }
    }

    @Test func rawBodyKeepsItsContentType() async throws {
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                let response = try await send(spec(.PUT, server.baseURL + "/echo", body: .raw(template("<order id=\"{{param.id}}\"/>\n"), contentType: "application/xml")),
                                              values: TemplateValues(params: ["id": "7"]), transport: transport)
                let echo = try Echo(response)
                #expect(echo.body == Array("<order id=\"7\"/>\n".utf8))
                #expect(echo.header("Content-Type") == "application/xml")
            }
        }
    }

    @Test func binaryBodyIsTheFileByteForByte() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bytes: [UInt8] = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        try Data(bytes).write(to: directory.appendingPathComponent("photo.bin"))
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                let response = try await send(spec(.POST, server.baseURL + "/echo", body: .binary(path: template("photo.bin"), contentType: "image/png")),
                                              directory: directory, transport: transport)
                let echo = try Echo(response)
                #expect(echo.body == bytes)
                #expect(echo.header("Content-Type") == "image/png")
                #expect(echo.header("Content-Length") == "4096")
            }
        }
    }

    @Test func multipartBodyHasExactPartsAndBoundary() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fileBytes: [UInt8] = [0, 1, 2, 13, 10, 45, 45, 255, 254] + Array("end".utf8)
        try Data(fileBytes).write(to: directory.appendingPathComponent("report.csv"))
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                let body = RequestBody.multipart([
                    MultipartPart(name: "note", content: .text(template("hello {{param.who}}"))),
                    MultipartPart(name: "file", content: .file(path: template("report.csv"), filename: nil, contentType: "text/csv")),
                ])
                let response = try await send(spec(.POST, server.baseURL + "/echo", body: body), values: TemplateValues(params: ["who": "you"]),
                                              directory: directory, transport: transport)
                let echo = try Echo(response)
                let contentType = try #require(echo.header("Content-Type"))
                #expect(contentType.hasPrefix("multipart/form-data; boundary=sheetsync-"))
                let boundary = String(contentType.split(separator: "=", maxSplits: 1)[1])
                var expected = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello you\r\n".utf8)
                expected += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"report.csv\"\r\nContent-Type: text/csv\r\n\r\n".utf8)
                expected += fileBytes + Array("\r\n--\(boundary)--\r\n".utf8)
                #expect(echo.body == expected)
            }
        }
    }

    @Test func missingBodyFileIsAClearError() throws {
        let builder = RequestBuilder(projectDirectory: URL(fileURLWithPath: "/nonexistent-project"))
        do {
            _ = try builder.build(spec(.POST, "http://127.0.0.1:9/x", body: .binary(path: template("nope.bin"), contentType: "a/b")), values: TemplateValues())
            Issue.record("missing file accepted")
        } catch {
            #expect(error.code == .invalidRequest)
            #expect(error.message.contains("cannot read the body file 'nope.bin'"))
        }
    }
}
