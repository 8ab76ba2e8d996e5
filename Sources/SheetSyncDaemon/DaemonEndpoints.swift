import Foundation
import Hummingbird
import NIOCore
import SheetSyncCore
import SheetSyncSchedule
import SheetSyncStore

/// `/` (the status page), `/healthz`, `/status` and `/metrics` of `sheetsync serve`.
public enum DaemonEndpoints {
    public static func router(daemon: Daemon, scheduler: JobScheduler) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/") { _, _ -> Response in
            let page = await StatusPage.render(daemon: daemon, scheduler: scheduler)
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(string: page)))
        }
        router.get("/healthz") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        router.get("/status") { _, _ -> Response in
            let status = await StatusReport.make(daemon: daemon, scheduler: scheduler)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: status.jsonText)))
        }
        router.get("/metrics") { _, _ -> Response in
            let text = daemon.metrics.exposition(database: daemon.database)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        return router
    }
}
