import SheetSyncCore

/// Where a paginated run is: saved with each page's rows so that an interrupted run
/// resumes at the next page instead of starting over.
public struct PagePosition: Sendable, Equatable, CustomStringConvertible {
    /// 1-based number of the page to fetch next.
    public var number: Int
    /// `page` style: the page number to send.
    public var page: Int?
    /// `offset` style: the offset to send.
    public var offset: Int?
    /// `cursor` style: the token to send (nil on the first page).
    public var token: String?
    /// `next_url` and `link_header` styles: the URL of the next page (nil on the first page).
    public var url: String?
    /// Records fetched so far in this run.
    public var fetched: Int

    public init(number: Int = 1, page: Int? = nil, offset: Int? = nil, token: String? = nil, url: String? = nil, fetched: Int = 0) {
        self.number = number
        self.page = page
        self.offset = offset
        self.token = token
        self.url = url
        self.fetched = fetched
    }

    /// The position in words, for messages: `page 2, token 'abc'`.
    public var description: String {
        var parts = ["page \(number)"]
        if let page, page != number { parts.append("page number \(page)") }
        if let offset { parts.append("offset \(offset)") }
        if let token { parts.append("token '\(token)'") }
        if let url { parts.append("URL '\(url)'") }
        return parts.joined(separator: ", ")
    }

    /// Compact JSON for `_sheetsync_state`.
    public var json: String {
        var members: [JSONObject.Member] = [.init(key: "number", value: .number(String(number))), .init(key: "fetched", value: .number(String(fetched)))]
        if let page { members.append(.init(key: "page", value: .number(String(page)))) }
        if let offset { members.append(.init(key: "offset", value: .number(String(offset)))) }
        if let token { members.append(.init(key: "token", value: .string(token))) }
        if let url { members.append(.init(key: "url", value: .string(url))) }
        return JSONValue.object(JSONObject(members)).jsonText
    }

    public init?(json: String) {
        guard let value = try? JSONReader.parse(json), case .object = value else { return nil }
        func int(_ key: String) -> Int? {
            if case .number(let n)? = value[key] { return Int(n) }
            return nil
        }
        func string(_ key: String) -> String? {
            if case .string(let s)? = value[key] { return s }
            return nil
        }
        guard let number = int("number") else { return nil }
        self.init(number: number, page: int("page"), offset: int("offset"), token: string("token"), url: string("url"), fetched: int("fetched") ?? 0)
    }
}

/// Why a paginated run stopped, or what is wrong with the pages.
public struct PageDecision: Sendable, Equatable {
    /// The next page, or nil when the run is complete.
    public var next: PagePosition?
    /// Which stop rule ended the run.
    public var stopReason: String?
    /// Something the run history should show (max_pages reached, total mismatch).
    public var warnings: [String] = []
    /// A loop found in this page's next link: the page itself is real and is kept,
    /// then the run fails with this message.
    public var loopError: String?

    public init(next: PagePosition? = nil, stopReason: String? = nil, warnings: [String] = []) {
        self.next = next
        self.stopReason = stopReason
        self.warnings = warnings
    }
}
