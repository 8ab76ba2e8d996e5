import Foundation
import Hummingbird
import NIOCore
import Testing
import SheetSyncCore
@testable import SheetSyncRunner
import SheetSyncTesting

/// The bodies an upload endpoint received.
actor ReceivedBodies {
    var bodies: [String] = []
    func add(_ body: String) { bodies.append(body) }
}

/// Issue 15, item 10: a multipart `filename:` is a template like every other value of a
/// request; what it renders is data, never read as a template again.
struct MultipartFilenameTests {
    static let job = """
        kind: pull
        worksheet: records
        params: { day: "2024-01-02" }
        request:
          method: POST
          url: "{{env.API}}/upload"
          body:
            multipart:
              report: { file: data.csv, filename: "report-{{param.day}}.csv", content_type: text/csv }
          retry: { attempts: 1 }
        records: $.data
        fields: { id: $.id, status: $.status }
        """

    static func router(_ received: ReceivedBodies) -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/upload") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            await received.add(String(buffer: body))
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: #"{"data": [{"id": 1, "status": "new"}]}"#)))
        }
        return router
    }

    /// Before: the part went out as `filename="report-{{param.day}}.csv"`.
    @Test func theFilenameIsRenderedAndItsValueIsData() async throws {
        let received = ReceivedBodies()
        try await withLoopbackServer(Self.router(received)) { server in
            let files = ["schema/records.yml": PaginationTests.schema, "jobs/j.yml": Self.job, "data.csv": "a,b\n1,2\n",
                         "sheetsync.yml": "env: { API: '\(server.baseURL)' }\n"]
            try await withHarness(files: files, environment: ["TOKEN": "canary-5ecret"]) { harness in
                let plain = await harness.runner.run(try harness.job("j"))
                #expect(plain.status == .succeeded, "\(plain.errorMessage ?? "")")
                // A value that looks like a template is sent as it is, and a quote in it
                // cannot end the parameter.
                let tricky = await harness.runner.run(try harness.job("j"), params: ["day": "{{secret.TOKEN}}\"x"])
                #expect(tricky.status == .succeeded, "\(tricky.errorMessage ?? "")")
            }
        }
        let bodies = await received.bodies
        #expect(bodies.count == 2)
        #expect(bodies.first?.contains("name=\"report\"; filename=\"report-2024-01-02.csv\"\r\nContent-Type: text/csv\r\n\r\na,b\n1,2\n") == true,
                "\(bodies.first ?? "")")
        #expect(bodies.last?.contains("filename=\"report-{{secret.TOKEN}}%22x.csv\"") == true, "\(bodies.last ?? "")")
        #expect(bodies.allSatisfy { !$0.contains("canary") })
    }
}
