import Foundation
import Testing

/// Issue 15, item 10: the proxy's secret is needed only by jobs that use the proxy.
struct ProxySecretCLITests {
    static let secret = "SHEETSYNC_TEST_PROXY_PASSWORD_UNSET"

    static func job(proxy: Bool) -> String {
        """
        kind: pull
        worksheet: orders
        request:
          url: "{{env.SHOP_URL}}/v1/orders"
          headers: { Authorization: "Bearer {{secret.SHOP_TOKEN}}" }
          retry: { attempts: 1 }
          proxy: \(proxy)
        records: $.data
        fields: { id: $.id, status: $.status, updated_at: $.updated_at }
        """
    }

    /// Before: every job failed ("proxy in sheetsync.yml: …") although only one uses the
    /// proxy, and `validate` said nothing.
    @Test func onlyJobsThatUseTheProxyNeedItsSecret() throws {
        let (shop, url) = try CrashRecoveryTests().startShop()
        defer { shop.terminate(); shop.waitUntilExit() }
        var files: [String: String] = [
            "sheetsync.yml": "proxy: { url: 'http://127.0.0.1:9', username: me, password: '{{secret.\(Self.secret)}}' }\n",
            "jobs/direct.yml": Self.job(proxy: false),
            "jobs/proxied.yml": Self.job(proxy: true),
        ]
        for name in try FileManager.default.contentsOfDirectory(atPath: CrashRecoveryTests.schema.path) {
            files["schema/\(name)"] = try String(contentsOf: CrashRecoveryTests.schema.appendingPathComponent(name), encoding: .utf8)
        }
        let project = try ProjectDirectory(files: files)
        let path = project.url.path
        let environment = ["SHOP_URL": url, "SHOP_TOKEN": "demo-token"]

        let direct = try CLI.run(["run", "direct", "--project", path], environment: environment)
        #expect(direct.status == 0, "\(direct.stdout)\(direct.stderr)")
        #expect(direct.stdout.contains("direct: succeeded"), "\(direct.stdout)")

        let proxied = try CLI.run(["run", "proxied", "--project", path], environment: environment)
        #expect(proxied.status == 1)
        let output = proxied.stdout + proxied.stderr
        #expect(output.contains("secret '\(Self.secret)'"), "\(output)")
        #expect(output.contains("proxy"), "\(output)")

        let validate = try CLI.run(["validate", "--project", path], environment: environment)
        #expect(validate.status == 0, "\(validate.stdout)\(validate.stderr)")
        let warnings = validate.stdout.split(separator: "\n").filter { $0.contains("warning:") && $0.contains(Self.secret) }
        #expect(warnings.count == 1, "\(validate.stdout)")
        #expect(warnings.first?.hasPrefix("jobs/proxied.yml:") == true, "\(validate.stdout)")
    }
}
