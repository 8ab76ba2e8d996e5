import Foundation
import Testing
@testable import SheetSyncCore

/// Secrets are masked in every form a server can echo them in, and before any cut.
struct RedactorTests {
    static let token = "SECRETPART1-SECRETPART2-SECRETPART3"

    @Test(arguments: [
        "Bearer SECRETPART1-SECRETPART2-SECRETPART3",
        "SECRETPART1%2DSECRETPART2-SECRETPART3",
        "%53%45%43%52%45%54PART1-SECRETPART2-SECRETPART3",
        #"SECRETPART1\u002dSECRETPART2\u002DSECRETPART3"#,
        #"\u0053ECRETPART1-SECRETPART2-SECRETPART3"#,
    ])
    func everyEncodingOfASecretIsMasked(text: String) {
        let masked = Redactor(secrets: [Self.token]).redact(text)
        #expect(masked.contains(Redactor.mask))
        #expect(!masked.contains("PART"), "\(masked)")
    }

    @Test func jsonEscapesPercentFormAndSurrogatePairs() {
        let secret = "p/a\"s s+w\\ord😀x"
        let redactor = Redactor(secrets: [secret])
        var quoted = ""
        JSONValue.writeQuoted(secret, to: &quoted)
        let forms = [
            secret,
            String(quoted.dropFirst().dropLast()),
            #"p\/a\"s s+w\\ord\ud83d\ude00x"#,
            #"p\u002Fa\u0022s\u0020s\u002bw\u005cord\uD83D\uDE00x"#,
            PercentEncoding.encode(secret),
            PercentEncoding.formEncode(secret),
            PercentEncoding.encode(secret).lowercased().replacingOccurrences(of: "word", with: "word"),
        ]
        for form in forms {
            let masked = redactor.redact("before " + form + " after")
            #expect(masked == "before *** after", "\(form) → \(masked)")
        }
    }

    @Test func base64OfASecretInsideOtherBytesIsMasked() {
        let secret = "hunter2-CANARY"
        let redactor = Redactor(secrets: [secret])
        for user in ["", "u", "me", "user", "admin", "x:y"] {
            for alphabetURL in [false, true] {
                var encoded = Data("\(user):\(secret)".utf8).base64EncodedString()
                if alphabetURL { encoded = encoded.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_") }
                let masked = redactor.redact("Authorization: Basic \(encoded)")
                #expect(masked.contains(Redactor.mask), "\(encoded)")
                // What is left is the user's part and at most a character or two of edge
                // on either side of the mask (a few bits of the secret, never the secret).
                let left = masked.replacingOccurrences(of: "Authorization: Basic ", with: "").replacingOccurrences(of: Redactor.mask, with: "")
                let userPart = (user.utf8.count + 1) * 4 / 3 + 1
                #expect(left.count <= userPart + 4, "\(masked)")
                #expect(!masked.contains(Data(secret.utf8).base64EncodedString().prefix(8)), "\(masked)")
            }
        }
    }

    @Test func excerptMasksBeforeItCuts() {
        let redactor = Redactor(secrets: [Self.token])
        for filler in 150...240 {
            let body = String(repeating: ".", count: filler) + "bad credentials: Bearer " + Self.token + " end"
            let excerpt = redactor.excerpt(body, limit: 200)
            #expect(!excerpt.contains("SECRET"), "cut at \(filler): \(excerpt)")
            #expect(excerpt.count <= 201)
        }
        #expect(redactor.excerpt("short", limit: 200) == "short")
        #expect(redactor.excerpt(String(repeating: "x", count: 300), limit: 10) == "xxxxxxxxxx…")
    }

    @Test func shortAndOverlappingSecretsAreMaskedWhole() {
        let redactor = Redactor(secrets: ["abc", "abcdef", ""])
        #expect(redactor.redact("xabcdefx abc") == "x***x ***")
        #expect(Redactor(secrets: []).redact("abc") == "abc")
    }
}

/// Origins: scheme, host and port; nothing but http and https.
struct OriginTests {
    @Test(arguments: [
        ("https://API.example.com/v1?x=1", "https://api.example.com"),
        ("https://api.example.com:443/", "https://api.example.com"),
        ("http://127.0.0.1:8080/x", "http://127.0.0.1:8080"),
        ("http://h", "http://h"),
    ])
    func originsOfHTTPURLs(url: String, origin: String) {
        #expect(Origin(url: url)?.description == origin)
    }

    @Test(arguments: ["http+unix://%2Ftmp%2Fx.sock/containers/json", "file:///etc/passwd", "ftp://h/x", "unix:///x", "/relative", "mailto:a@b"])
    func otherSchemesHaveNoOrigin(url: String) {
        #expect(Origin(url: url) == nil)
        #expect(Origin.refusal(for: url) != nil)
    }

    @Test func portAndSchemeMakeADifferentOrigin() {
        #expect(Origin(url: "http://h:80/a") == Origin(url: "http://h/b"))
        #expect(Origin(url: "http://h:81/a") != Origin(url: "http://h/a"))
        #expect(Origin(url: "https://h/a") != Origin(url: "http://h/a"))
        #expect(Origin(url: "https://h/")!.isDowngrade(to: Origin(url: "http://h/")!))
    }
}
