import Testing
@testable import SheetSyncCore

/// Stored push payloads keep secrets sealed, and unsealing gives back the bytes.
struct SecretSealTests {
    static let secrets = ["API_KEY": #"k"e\y/ 1&2"#, "SHORT": "abc"]

    @Test func sealedPayloadsHoldNoSecretAndUnsealToTheSameBytes() throws {
        var json = ""
        JSONValue.writeQuoted(Self.secrets["API_KEY"]!, to: &json)
        let payloads = [
            #"{"key":\#(json),"other":"abc-abc"}"#,
            "key=" + PercentEncoding.formEncode(Self.secrets["API_KEY"]!) + "&x=1",
            "https://x/y?k=" + PercentEncoding.encode(Self.secrets["API_KEY"]!),
            "raw " + Self.secrets["API_KEY"]! + " and abc",
        ]
        for payload in payloads {
            let sealed = SecretSeal.seal(payload, secrets: Self.secrets)
            for value in Self.secrets.values {
                #expect(!sealed.contains(value), "\(sealed)")
            }
            #expect(!sealed.contains("%22e%5Cy"), "\(sealed)")
            #expect(try SecretSeal.unseal(sealed, secrets: Self.secrets) == payload)
        }
    }

    @Test func aRotatedSecretIsSentAndAMissingOneIsAnError() throws {
        let sealed = SecretSeal.seal(#"{"key":"old"}"#, secrets: ["K": "old"])
        #expect(sealed == #"{"key":"{{secret.K}}"}"#)
        #expect(try SecretSeal.unseal(sealed, secrets: ["K": "new"]) == #"{"key":"new"}"#)
        #expect(throws: CoreError.self) { try SecretSeal.unseal(sealed, secrets: [:]) }
        #expect(try SecretSeal.unseal("no placeholders", secrets: [:]) == "no placeholders")
    }
}
