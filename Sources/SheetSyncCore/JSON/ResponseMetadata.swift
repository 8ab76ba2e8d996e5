/// What `$response.…` field sources read: the status and headers of the HTTP response
/// that carried a page, as a small JSON document
/// (`{"status": 200, "headers": {"etag": "\"v1\"", …}}`).
///
/// Header names are compared case-insensitively (HTTP says they are): the document holds
/// them lower-cased and `$response.headers.NAME` is lower-cased when the job is read. A
/// header sent more than once is one value, its values joined with ", " (RFC 9110 5.3).
public enum ResponseMetadata {
    public static func document(status: Int, headers: [(name: String, value: String)]) -> JSONValue {
        var members: [JSONObject.Member] = []
        var positions: [String: Int] = [:]
        for (name, value) in headers {
            let key = name.lowercased()
            if let position = positions[key], case .string(let earlier) = members[position].value {
                members[position].value = .string(earlier + ", " + value)
            } else {
                positions[key] = members.count
                members.append(JSONObject.Member(key: key, value: .string(value)))
            }
        }
        return .object(JSONObject([JSONObject.Member(key: "status", value: .number(String(status))),
                                   JSONObject.Member(key: "headers", value: .object(JSONObject(members)))]))
    }

    /// The status a `document` holds.
    public static func status(in document: JSONValue) -> Int? {
        if case .number(let text)? = document["status"] { return Int(text) }
        return nil
    }

    /// A `$response` path in its canonical form (`$response.status`, or
    /// `$response.headers.NAME` with `NAME` lower-cased); a message saying what is
    /// allowed for anything else.
    public static func canonical(_ path: JSONPath) -> Result<JSONPath, CoreError> {
        switch path.components {
        case [.member("status")]:
            return .success(path)
        case let components where components.count == 2 && components[0] == .member("headers"):
            guard case .member(let name) = components[1], !name.isEmpty else { break }
            return .success(JSONPath(root: .response, components: [.member("headers"), .member(name.lowercased())], text: path.text))
        default:
            break
        }
        return .failure(CoreError(.invalidJSONPath, "'\(path.text)' is not a response value; use '$response.status' or '$response.headers.NAME' (for example '$response.headers.etag')"))
    }
}
