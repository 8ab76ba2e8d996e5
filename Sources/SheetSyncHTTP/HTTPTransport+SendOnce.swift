import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SheetSyncCore

/// Many requests sent once each, from one event loop: what a push pass sends per chunk.
///
/// `send(_:redactor:)` costs a Swift task, a deadline task group and several hops between
/// Swift concurrency's threads and NIO's for every request; a push pass with `batch_size: 1`
/// spent as much CPU on that as on the HTTP itself (profile, 2026-12-01). Here a chunk's
/// requests are started and finished by callbacks on one event loop (`sendingLoop`), over
/// kept-alive connections of that loop, and the caller awaits the chunk once.
extension HTTPTransport {
    /// Whether `sendOnce` can send `request`: one attempt (the caller retries), and a method
    /// whose redirects are not followed (only GET and HEAD redirects are).
    public static func canSendOnce(_ request: PreparedRequest) -> Bool {
        request.retry.attempts <= 1 && request.method != .GET && request.method != .HEAD
    }

    /// Sends each request once — no retry, no redirect followed; each outcome judged as
    /// `send(_:redactor:)` judges a last attempt — with at most `concurrency` in flight.
    /// After a failed response whose status is in `stopAfter`, nothing more is started (what is in
    /// flight finishes). A request not started (stopped, or the task cancelled) is nil.
    /// Cancelling the task cancels the requests in flight (they fail).
    public func sendOnce(_ requests: [PreparedRequest], concurrency: Int, redactor: Redactor,
                         stopAfter: Set<Int> = []) async -> [HTTPExchange?] {
        guard !requests.isEmpty, !Task.isCancelled else { return Array(repeating: nil, count: requests.count) }
        let run = OnceRun(transport: self, requests: requests, concurrency: max(1, concurrency), stopAfter: stopAfter)
        let outcomes = await withTaskCancellationHandler {
            await run.start()
        } onCancel: {
            run.cancel()
        }
        return zip(requests, outcomes).map { request, outcome in
            outcome.map { conclude($0.result, request: request, redactor: redactor, duration: $0.duration) }
        }
    }

    /// The exchange of a request's only attempt, judged as `send` judges its last one.
    func conclude(_ outcome: Result<HTTPResponseData, HTTPStepError>, request: PreparedRequest, redactor: Redactor,
                  duration: Duration) -> HTTPExchange {
        var record = RequestAttempt(method: request.method.rawValue, url: redactor.redact(request.url), status: nil,
                                    durationMilliseconds: Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000),
                                    bytes: 0, attempt: 1, error: nil)
        switch outcome {
        case .success(let response):
            record.status = response.status
            record.bytes = response.bodyCount
            let failure = request.isSuccess(response.status)
                ? errorInBody(response, request: request, redactor: redactor)
                : statusError(response, request: request, redactor: redactor)
            record.error = failure?.message
            return HTTPExchange(attempts: [record], result: failure.map { .failure($0) } ?? .success(response))
        case .failure(var failure):
            failure.message = redactor.redact(failure.message)
            record.error = failure.message
            return HTTPExchange(attempts: [record], result: .failure(failure))
        }
    }
}

/// One `sendOnce` call: its state is touched only on the transport's sending loop.
private final class OnceRun: @unchecked Sendable {
    typealias Outcome = (result: Result<HTTPResponseData, HTTPStepError>, duration: Duration)

    let transport: HTTPTransport
    let loop: any EventLoop
    let requests: [PreparedRequest]
    let concurrency: Int
    let stopAfter: Set<Int>
    // On `loop` only:
    var outcomes: [Outcome?]
    var tasks: [Int: HTTPClient.Task<HTTPClient.Response>] = [:]
    var next = 0
    var running = 0
    var stopped = false
    var finished = false
    let done: EventLoopPromise<Void>

    init(transport: HTTPTransport, requests: [PreparedRequest], concurrency: Int, stopAfter: Set<Int>) {
        self.transport = transport
        loop = transport.sendingLoop
        self.requests = requests
        self.concurrency = concurrency
        self.stopAfter = stopAfter
        outcomes = Array(repeating: nil, count: requests.count)
        done = loop.makePromise(of: Void.self)
    }

    /// Starts the first requests and waits for the last outcome.
    func start() async -> [Outcome?] {
        loop.execute { self.fill() }
        try? await done.futureResult.get()
        // The loop is done with them: `done` succeeded on it after the last write.
        return outcomes
    }

    func cancel() {
        loop.execute {
            self.stopped = true
            for task in self.tasks.values { task.cancel() }
            self.finishIfIdle()
        }
    }

    /// Starts requests while fewer than `concurrency` are in flight.
    private func fill() {
        while !stopped, running < concurrency, next < requests.count {
            let index = next
            next += 1
            begin(index)
        }
        finishIfIdle()
    }

    private func finishIfIdle() {
        if !finished, running == 0, stopped || next == requests.count {
            finished = true
            done.succeed(())
        }
    }

    private func begin(_ index: Int) {
        let request = requests[index]
        let started = ContinuousClock.now
        let task: HTTPClient.Task<HTTPClient.Response>
        do throws(HTTPStepError) {
            guard request.origin != nil else {
                throw HTTPStepError(.refusedURL, "refused to request '\(request.url)': \(Origin.refusal(for: request.url) ?? "not an http(s) URL")")
            }
            let (client, tls) = try transport.connection(for: request)
            var headers = HTTPHeaders()
            headers.reserveCapacity(request.headers.count)
            for header in request.headers { headers.add(name: header.name, value: header.value) }
            let outgoing: HTTPClient.Request
            do throws(any Error) {
                outgoing = try HTTPClient.Request(url: request.url, method: HTTPMethod(rawValue: request.method.rawValue), headers: headers,
                                                  body: request.body.map { .bytes($0) }, tlsConfiguration: tls)
            } catch {
                throw transport.classify(error, request: request)
            }
            let limit = min(request.maxResponseBytes, Int(UInt32.max))
            // `.delegate`, a preference: the pool opens its kept-alive connections on this loop.
            // A requirement (`.delegateAndChannel`) would open "overflow" connections, closed
            // when idle: one connection for every few requests (strace, 2026-12-01).
            let timeout = request.timeout.components
            let deadline = NIODeadline.now() + .nanoseconds(timeout.seconds * 1_000_000_000 + timeout.attoseconds / 1_000_000_000)
            task = client.execute(request: outgoing, delegate: ResponseAccumulator(request: outgoing, maxBodySize: limit),
                                  eventLoop: .delegate(on: loop), deadline: deadline, logger: nil)
        } catch {
            outcomes[index] = (.failure(error), ContinuousClock.now - started)
            return
        }
        running += 1
        tasks[index] = task
        task.futureResult.hop(to: loop).whenComplete { result in
            self.running -= 1
            self.tasks[index] = nil
            let outcome: Result<HTTPResponseData, HTTPStepError>
            switch result {
            case .success(let response):
                outcome = .success(HTTPResponseData(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                                                    body: response.body.map { Array($0.readableBytesView) } ?? [], url: request.url))
                let status = Int(response.status.code)
                if self.stopAfter.contains(status), !request.isSuccess(status) { self.stopped = true }
            case .failure(let error as ResponseAccumulator.ResponseTooBigError):
                outcome = .failure(HTTPStepError(.tooLarge, "the response is larger than the limit of \(error.maxBodySize) bytes; raise 'max_response_bytes' or fetch smaller pages"))
            case .failure(let error):
                outcome = .failure(self.transport.classify(error, request: request))
            }
            self.outcomes[index] = (outcome, ContinuousClock.now - started)
            self.fill()
        }
    }
}
