import Foundation
import Testing
import SheetSyncCore
@testable import SheetSyncPush

struct WebhookSignerTests {
    /// The signature equals Python's hmac module's, an independent implementation.
    @Test(arguments: [
        ("whsec_" + Data("0123456789abcdef0123456789".utf8).base64EncodedString(), Data("0123456789abcdef0123456789".utf8)),
        ("plain secret", Data("plain secret".utf8)),
    ])
    func matchesAnIndependentHMAC(secret: String, key: Data) throws {
        let body = Array(#"{"id":"pr-1","amount":12.50}"#.utf8)
        let signature = WebhookSigner(secret: secret).signature(id: "chg_job_7", timestamp: 1_700_000_000, body: body)
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", """
            import base64, hashlib, hmac, sys
            key = base64.b64decode(sys.argv[1]); message = sys.argv[2].encode()
            print("v1," + base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode())
            """, key.base64EncodedString(), "chg_job_7.1700000000." + String(decoding: body, as: UTF8.self)]
        let pipe = Pipe()
        python.standardOutput = pipe
        try python.run()
        python.waitUntilExit()
        let expected = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(signature == expected)
        #expect(signature.hasPrefix("v1,"))
    }

    @Test func sha256OfAKnownString() {
        #expect(WebhookSigner.sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

struct DeliveryPolicyTests {
    @Test func defaultScheduleGrowsAndEndsAfterTenAttempts() {
        let policy = DeliveryPolicy(DeliverySpec())
        let delays = (1...9).map { policy.delay(afterAttempt: $0, jitter: 0)! }
        #expect(delays == [.seconds(5), .seconds(300), .seconds(1800), .seconds(7200), .seconds(18_000), .seconds(36_000),
                           .seconds(50_400), .seconds(72_000), .seconds(86_400)])
        #expect(policy.delay(afterAttempt: 10, jitter: 0) == nil)
    }

    @Test func jitterAndRetryAfter() {
        let policy = DeliveryPolicy(DeliverySpec(attempts: 5, backoff: [.zero, .seconds(10)]))
        #expect(policy.delay(afterAttempt: 1, jitter: 0.1) == .seconds(11))
        #expect(policy.delay(afterAttempt: 3, jitter: 0) == .seconds(10))  // the last delay repeats
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(60), jitter: 0) == .seconds(60))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(1), jitter: 0) == .seconds(10))
    }

    @Test func recordPayloadKeepsTypes() {
        let fields: [WorksheetDefinition.Field] = [
            .init(name: "id", type: .text), .init(name: "n", type: .integer), .init(name: "amount", type: .decimal),
            .init(name: "ok", type: .boolean), .init(name: "at", type: .datetime), .init(name: "doc", type: .json), .init(name: "gone", type: .text),
        ]
        let payload = RecordPayload.object(fields: fields, values: [
            "id": .text("a"), "n": .integer(3), "amount": .text("1234567890123456789.01"), "ok": .integer(0),
            "at": .text("2024-01-01T00:00:00Z"), "doc": .text(#"{"x":[1]}"#), "gone": .null,
        ])
        #expect(payload.jsonText == #"{"id":"a","n":3,"amount":1234567890123456789.01,"ok":false,"at":"2024-01-01T00:00:00Z","doc":{"x":[1]},"gone":null}"#)
    }
}
