import Testing
@testable import SheetSyncCore

/// Stored push payloads keep secrets sealed, unsealing gives back the bytes, and only
/// the placeholders sheetsync wrote are ever unsealed: record data is never a template.
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
                #expect(!sealed.text.contains(value), "\(sealed.text)")
            }
            #expect(!sealed.text.contains("%22e%5Cy"), "\(sealed.text)")
            #expect(!sealed.seals.isEmpty)
            // Stored and read back, as the ledger does.
            let stored = try SealedText(text: sealed.text, sealsJSON: sealed.sealsJSON)
            #expect(try SecretSeal.unseal(stored, secrets: Self.secrets) == payload)
        }
    }

    @Test func aRotatedSecretIsSentAndAMissingOneIsAnError() throws {
        let sealed = SecretSeal.seal(#"{"key":"old"}"#, secrets: ["K": "old"])
        #expect(sealed.text == #"{"key":"{{secret.K}}"}"#)
        #expect(sealed.sealsJSON == #"[[8,"K","raw"]]"#)
        #expect(try SecretSeal.unseal(sealed, secrets: ["K": "new"]) == #"{"key":"new"}"#)
        #expect(throws: CoreError.self) { try SecretSeal.unseal(sealed, secrets: [:]) }
        #expect(try SecretSeal.unseal(SealedText(text: "no placeholders"), secrets: [:]) == "no placeholders")
    }

    /// Issue 12, item 1: a record value that reads like a placeholder is data.
    @Test(arguments: [
        #"{"note":"hello {{secret.ERP_TOKEN}} and {{secret.ERP_SIGNING}}"}"#,
        #"{"note":"{{secret.ERP_TOKEN|json}}{{secret.ERP_TOKEN|url}}{{secret.ERP_TOKEN|form}}"}"#,
        #"{"note":"{{secret.UNSET}}"}"#,
        "note=%7B%7Bsecret.ERP_TOKEN%7D%7D&raw={{secret.ERP_TOKEN}}",
    ])
    func placeholdersInRecordDataAreSentAsWritten(payload: String) throws {
        let secrets = ["ERP_TOKEN": "tok-CANARY-123456", "ERP_SIGNING": "whsec-sign-CANARY-abcdef"]
        let sealed = SecretSeal.seal(payload, secrets: secrets)
        #expect(sealed.seals.isEmpty)
        let stored = try SealedText(text: sealed.text, sealsJSON: sealed.sealsJSON)
        let sent = try SecretSeal.unseal(stored, secrets: secrets)
        #expect(sent == payload)
        #expect(!sent.contains("CANARY"))
    }

    @Test func aRealSecretBesideLookAlikeDataUnsealsOnlyTheRealOne() throws {
        let secrets = ["T": "tok-CANARY-1"]
        let payload = #"{"auth":"tok-CANARY-1","note":"{{secret.T}}"}"#
        let sealed = SecretSeal.seal(payload, secrets: secrets)
        #expect(sealed.text == #"{"auth":"{{secret.T}}","note":"{{secret.T}}"}"#)
        #expect(sealed.seals.count == 1)
        #expect(try SecretSeal.unseal(sealed, secrets: secrets) == payload)
    }

    @Test(arguments: [#"[[0,"T","raw"]]"#, #"[[99,"T","raw"]]"#, #"[[1,"T","bogus"]]"#, "not json", #"{"a":1}"#])
    func damagedSealsAreAnErrorNotAGuess(seals: String) throws {
        let text = #"{"a":"{{secret.T}}"}"#
        #expect(throws: CoreError.self) {
            let stored = try SealedText(text: text, sealsJSON: seals)
            _ = try SecretSeal.unseal(stored, secrets: ["T": "x"])
        }
    }

    /// Found by the redact fuzzer: a secret starting with a combining mark (U+035F) has
    /// an empty "JSON form" when the quotes are dropped by Character, and sealing trapped.
    @Test func aSecretStartingWithACombiningMarkSealsAndUnseals() throws {
        let secret = "\u{035F}k3y"
        let payload = #"{"k":"\#(secret)","n":"x"}"#
        let sealed = SecretSeal.seal(payload, secrets: ["S": secret])
        #expect(!sealed.text.contains(secret))
        #expect(try SecretSeal.unseal(sealed, secrets: ["S": secret]) == payload)
    }
}
