import Foundation
import SheetSyncCore

/// Walks the pages of a paginated pull job: what to add to each request, and when
/// to stop.
///
/// Stop rules, checked after each page; the first that holds ends the run:
/// an empty page (`stop_on_empty`, on by default), `has_more` false, `total` records
/// or `total_pages` reached, a short page (`stop_on_short_page`, off by default: many
/// APIs return short pages mid-way), no next token / URL / `Link: rel="next"`, and
/// `max_pages` (default 10 000, with a warning). Safety: a token or next URL seen
/// twice, or the same page body twice in a row, is an error, not an endless loop.
public struct PageWalker: Sendable {
    public let spec: PaginationSpec
    private var seen: Set<String> = []
    private var previousBody: BodyFingerprint?

    public init(_ spec: PaginationSpec) {
        self.spec = spec
    }

    /// The position of the first page.
    public func first() -> PagePosition {
        switch spec.style {
        case .page: PagePosition(page: spec.start ?? 1)
        case .offset: PagePosition(offset: spec.start ?? 0)
        default: PagePosition()
        }
    }

    /// Values for `{{page.number}}`, `{{page.offset}}`, `{{page.size}}`, `{{page.cursor}}`.
    public func templateValues(_ position: PagePosition) -> [String: String] {
        var values = ["number": String(position.page ?? position.number)]
        if let offset = position.offset { values["offset"] = String(offset) }
        if let size = spec.size { values["size"] = String(size) }
        values["cursor"] = position.token ?? ""
        return values
    }

    /// Adds the page parameters to a built request.
    ///
    /// A next-page URL named by the server (`next_url`, `link_header`) is data, not
    /// configuration: it must be http(s), must not downgrade https to http, and must stay
    /// on the job's origin unless `paginate.allow_origins` names its origin; on an allowed
    /// other origin the request goes without its credential headers.
    public func apply(_ position: PagePosition, to request: inout PreparedRequest) throws(HTTPStepError) {
        if let url = position.url {
            // next_url / link_header: the server's URL carries every parameter.
            guard let origin = request.origin else { return }
            guard let next = Origin(url: url) else {
                throw HTTPStepError(.refusedURL, "the next-page URL '\(url)' given by the server cannot be requested: \(Origin.refusal(for: url) ?? "not an http(s) URL"); the rows of every page so far are kept")
            }
            if origin.isDowngrade(to: next) {
                throw HTTPStepError(.refusedURL, "the next-page URL '\(url)' given by the server downgrades https to http; sheetsync refuses to send the job's request in clear (the rows of every page so far are kept)")
            }
            if next != origin {
                guard spec.allowOrigins.contains(next) else {
                    throw HTTPStepError(.refusedURL, "the next-page URL '\(url)' given by the server is on '\(next)', not on the job's origin '\(origin)'; sheetsync does not follow it (the rows of every page so far are kept). If that origin is expected, add it to 'paginate.allow_origins' (its requests go without the job's credential headers)")
                }
                request.dropCredentials()
            }
            request.url = url
            return
        }
        var parameters: [(String, String)] = []
        switch spec.style {
        case .page: if let page = position.page { parameters.append((spec.param ?? "page", String(page))) }
        case .offset: if let offset = position.offset { parameters.append((spec.param ?? "offset", String(offset))) }
        case .cursor: if let token = position.token, let param = spec.param { parameters.append((param, token)) }
        case .nextURL, .linkHeader: break
        }
        if let sizeParam = spec.sizeParam, let size = spec.size { parameters.append((sizeParam, String(size))) }
        switch spec.location {
        case .query:
            guard !parameters.isEmpty else { return }
            let encoded = parameters.map { PercentEncoding.encode($0.0) + "=" + PercentEncoding.encode($0.1) }.joined(separator: "&")
            request.url += (request.url.contains("?") ? "&" : "?") + encoded
        case .header:
            if spec.style == .cursor, let token = position.token {
                request.headers.removeAll { $0.name.lowercased() == (spec.param ?? "X-Cursor").lowercased() }
                request.headers.append((spec.param ?? "X-Cursor", token))
            }
            // Page size and page numbers still go in the query.
            let rest = spec.style == .cursor ? parameters.filter { $0.0 != spec.param } : parameters
            if !rest.isEmpty {
                request.url += (request.url.contains("?") ? "&" : "?") + rest.map { PercentEncoding.encode($0.0) + "=" + PercentEncoding.encode($0.1) }.joined(separator: "&")
            }
        case .body:
            var object = JSONObject()
            if let body = request.body {
                guard case .object(let existing)? = try? JSONReader.parse(body) else {
                    throw HTTPStepError(.invalidRequest, "paginate 'in: body' needs a JSON object body (request.body.json)")
                }
                object = existing
            }
            for (name, value) in parameters {
                object.members.removeAll { $0.key == name }
                // Page numbers, offsets and sizes are numbers; a cursor token stays a string.
                let isToken = spec.style == .cursor && name == spec.param
                let typed: JSONValue = isToken || Int(value) == nil ? .string(value) : .number(value)
                object.members.append(.init(key: name, value: typed))
            }
            request.body = Array(JSONValue.object(object).jsonText.utf8)
            if request.header("Content-Type") == nil { request.headers.append(("Content-Type", "application/json")) }
        }
    }

    /// Decides what comes after the page at `position`, given its response.
    public mutating func next(after position: PagePosition, response: HTTPResponseData, document: JSONValue,
                              records: Int) throws(HTTPStepError) -> PageDecision {
        let body = response.spilled.map { BodyFingerprint.spilled(count: $0.count, digest: $0.digest) } ?? .bytes(response.body)
        if let previousBody, previousBody == body, records > 0 {
            throw HTTPStepError(.status, "pagination loop: page \(position.number) has the same body as page \(position.number - 1); stopping so the run does not fetch it forever (rows of the pages before are kept)")
        }
        previousBody = body
        var current = position
        current.fetched += records
        var decision = PageDecision()
        let total = spec.total.flatMap { $0.value(in: document) }.flatMap(Self.int)

        func stop(_ reason: String, absentOnFirstPage what: String? = nil) -> PageDecision {
            var result = decision
            // `next` missing altogether (not null) from a first page with records: most likely
            // a typo in the path, which would end every run after one page without a word.
            if let what, let path = spec.next, position.number == 1, records > 0, path.value(in: document) == nil {
                result.warnings.append("paginate.next '\(path.text)' is not in the first page's response, so the run stopped after one page; check the path against a response ('sheetsync test JOB'), or ignore this if the API leaves the next \(what) out on its last page")
            }
            result.next = nil
            result.stopReason = reason
            if let total, total != current.fetched {
                result.warnings.append("fetched \(current.fetched) records but the API reported a total of \(total)")
            }
            return result
        }

        if records == 0, spec.stopOnEmpty { return stop("empty page") }
        if let path = spec.hasMore {
            if let value = path.value(in: document) {
                if value == .bool(false) || value == .string("false") || value == .number("0") { return stop("\(path.text) is false") }
            } else {
                // Most likely a typo: said once per run (the run de-duplicates warnings).
                decision.warnings.append("paginate.has_more '\(path.text)' is not in the response, so it never stopped the run; check the path against a response ('sheetsync test JOB')")
            }
        }
        if let total, current.fetched >= total { return stop("total of \(total) records reached") }
        if let path = spec.totalPages, let pages = path.value(in: document).flatMap(Self.int), position.number >= pages {
            return stop("total of \(pages) pages reached")
        }
        if spec.stopOnShortPage, let size = spec.size, records < size { return stop("short page (\(records) < \(size))") }

        var next = current
        next.number += 1
        switch spec.style {
        case .page:
            next.page = (current.page ?? spec.start ?? 1) + 1
        case .offset:
            next.offset = (current.offset ?? spec.start ?? 0) + records
        case .cursor:
            guard let token = spec.next.flatMap({ $0.value(in: document) }).flatMap(Self.text), !token.isEmpty else {
                return stop("no next token at \(spec.next?.text ?? "?")", absentOnFirstPage: "token")
            }
            guard seen.insert("token:" + token).inserted else {
                var looped = stop("pagination loop")
                looped.loopError = "pagination loop: the server returned token '\(token)' again on page \(position.number); stopping (the rows of every page so far are kept)"
                return looped
            }
            next.token = token
        case .nextURL:
            guard let link = spec.next.flatMap({ $0.value(in: document) }).flatMap(Self.text), !link.isEmpty else {
                return stop("no next URL at \(spec.next?.text ?? "?")", absentOnFirstPage: "URL")
            }
            let absolute = URL(string: link, relativeTo: URL(string: response.url))?.absoluteString ?? link
            guard seen.insert("url:" + absolute).inserted else {
                var looped = stop("pagination loop")
                looped.loopError = "pagination loop: the next URL '\(absolute)' was already fetched; stopping (the rows of every page so far are kept)"
                return looped
            }
            next.url = absolute
        case .linkHeader:
            guard let link = response.header("Link").flatMap({ LinkHeader.url(rel: "next", in: $0) }) else {
                return stop("no Link rel=\"next\"")
            }
            let absolute = URL(string: link, relativeTo: URL(string: response.url))?.absoluteString ?? link
            guard seen.insert("url:" + absolute).inserted else {
                var looped = stop("pagination loop")
                looped.loopError = "pagination loop: Link rel=\"next\" points at '\(absolute)' again; stopping (the rows of every page so far are kept)"
                return looped
            }
            next.url = absolute
        }
        if position.number >= spec.maxPages {
            decision.warnings.append("stopped after max_pages (\(spec.maxPages)) although the API reports more pages; raise paginate.max_pages if that is expected")
            return stop("max_pages (\(spec.maxPages)) reached")
        }
        decision.next = next
        return decision
    }

    /// Records URLs fetched before a resume, so a loop across the restart is still caught.
    public mutating func remember(_ position: PagePosition) {
        if let url = position.url { seen.insert("url:" + url) }
        if let token = position.token { seen.insert("token:" + token) }
    }

    static func int(_ value: JSONValue) -> Int? {
        switch value {
        case .number(let n): Int(n) ?? Double(n).map { Int($0) }
        case .string(let s): Int(s)
        default: nil
        }
    }

    static func text(_ value: JSONValue) -> String? {
        switch value {
        case .string(let s): s
        case .number(let n): n
        default: nil
        }
    }
}

/// RFC 8288 `Link` header parsing.
public enum LinkHeader {
    /// The URL of the first link whose `rel` includes `rel` (case-insensitive).
    public static func url(rel wanted: String, in header: String) -> String? {
        var index = header.startIndex
        while let open = header[index...].firstIndex(of: "<") {
            guard let close = header[open...].firstIndex(of: ">") else { return nil }
            let url = String(header[header.index(after: open)..<close])
            // Parameters run to the next "<" that starts a new link (commas may sit in quoted values).
            let paramsEnd = header[close...].firstIndex(of: "<") ?? header.endIndex
            let params = header[header.index(after: close)..<paramsEnd]
            for param in params.split(separator: ";") {
                let pair = param.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " ,\"\t")) }
                if pair.count == 2, pair[0].lowercased() == "rel",
                   pair[1].lowercased().split(separator: " ").contains(Substring(wanted.lowercased())) {
                    return url
                }
            }
            index = paramsEnd
        }
        return nil
    }
}

/// What the loop guard compares between consecutive pages: the bytes, or for a body
/// spilled to a file its size and digest.
enum BodyFingerprint: Equatable {
    case bytes([UInt8])
    case spilled(count: Int, digest: UInt64)
}
