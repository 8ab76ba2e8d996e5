import SheetSyncCore

/// A push delivery's request as it was rendered for its first attempt: method, URL and
/// the job's headers. Retries and replays send exactly this (with its body), so a value
/// the URL took from the record is the one the first attempt used, even when the record
/// changed or the field is not in the payload. Stored sealed (`SecretSeal`) as
/// `{"method":…,"url":…,"headers":[[name,value],…]}`.
extension PreparedRequest {
    /// The method, URL and headers as JSON text.
    public var frozenText: String {
        JSONValue.object(JSONObject([
            "method": .string(method.rawValue),
            "url": .string(url),
            "headers": .array(headers.map { JSONValue.array([.string($0.name), .string($0.value)]) }),
        ])).jsonText
    }

    /// This request with the method, URL and headers of a frozen one (its timeout,
    /// TLS and success codes stay those of the job now).
    func applying(frozenText text: String) throws(CoreError) -> PreparedRequest {
        let damaged = CoreError(.invalidJSON, "the stored request of this delivery is damaged (it was probably edited by hand); replay the change from its record")
        guard case .object(let object)? = try? JSONReader.parse(text), case .string(let methodName)? = object["method"],
              let method = HTTPRequestSpec.Method(rawValue: methodName), case .string(let url)? = object["url"],
              case .array(let items)? = object["headers"] else { throw damaged }
        var copy = self
        copy.method = method
        copy.url = url
        copy.headers = []
        for item in items {
            guard case .array(let pair) = item, pair.count == 2, case .string(let name) = pair[0], case .string(let value) = pair[1] else { throw damaged }
            // A stored header went through the same checks when it was rendered; check again, the file may have been edited.
            guard !value.utf8.contains(13), !value.utf8.contains(10) else { throw damaged }
            copy.headers.append((name, value))
        }
        return copy
    }
}

extension RequestBuilder {
    /// A frozen request ready to send again: method, URL and headers from `text`, the
    /// other options (timeout, proxy, TLS, success codes, error paths) from the job's
    /// `spec` as it is now. Throws `.invalidRequest` when the text is damaged.
    public func rebuild(_ spec: HTTPRequestSpec, frozenText text: String) throws(HTTPStepError) -> PreparedRequest {
        var base = PreparedRequest(
            method: spec.method, url: "", timeout: spec.timeout, useProxy: spec.proxy, verifyTLS: spec.verifyTLS,
            caFile: spec.caFile.map { resolve($0).path }, successCodes: spec.successCodes, retry: spec.retry, error: spec.error,
            maxResponseBytes: spec.maxResponseBytes ?? defaultMaxResponseBytes)
        base.secretHeaders = Self.secretHeaders(spec)
        do {
            return try base.applying(frozenText: text)
        } catch {
            throw HTTPStepError(.invalidRequest, error.message)
        }
    }
}
