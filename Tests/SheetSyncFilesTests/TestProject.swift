import Foundation

/// A throwaway project directory with the given files, removed when the test ends.
final class TestProject {
    let directory: URL

    init(files: [String: String]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sheetsync-files-\(UUID().uuidString)")
        for (path, text) in files {
            let url = directory.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Schema files most cases share, so each broken file is the only problem.
    static let baseFiles: [String: String] = [
        "sheetsync.yml": "env:\n  SHOP_URL: http://127.0.0.1:9\n",
        "schema/orders.yml": """
            worksheet: orders
            key: [id]
            fields:
              id: text
              status: text
              total: decimal
              updated_at: datetime
            """,
        "schema/order_items.yml": """
            key: [order_id, sku]
            fields:
              order_id: text
              sku: text
              quantity: integer
            """,
        "schema/purchase_requests.yml": """
            key: [id]
            fields:
              id: text
              status: text
              erp_id: text
            """,
    ]
}
