import Foundation
import SheetSyncCore

/// The demo shop's deterministic data: the same seed and size always give the same
/// customers and orders, so tests can state exact counts.
public struct DemoShopData: Sendable {
    public struct Configuration: Sendable {
        public var seed: UInt64
        public var orders: Int
        public var token: String

        public init(seed: UInt64 = 42, orders: Int = 250, token: String = "demo-token") {
            self.seed = seed
            self.orders = orders
            self.token = token
        }
    }

    public static let statuses = ["pending", "paid", "shipped", "delivered", "cancelled", "refunded"]

    public let configuration: Configuration
    public private(set) var customers: [JSONValue] = []
    public private(set) var orders: [JSONValue] = []
    /// `updated_at` of each order as an instant, for `updated_since` filtering.
    public private(set) var updatedAt: [UTCDateTime] = []

    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
        var random = SplitMix64(seed: configuration.seed)
        let first = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Edsger", "Radia", "Tim"]
        let last = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen", "Dijkstra", "Perlman", "Berners-Lee"]
        let countries = ["DE", "FR", "NL", "US", "GB", "SE", "ES", "IT"]
        let cities = ["Berlin", "Paris", "Amsterdam", "New York", "London", "Stockholm", "Madrid", "Rome"]
        let products = [("SKU-KB-01", "Mechanical keyboard", "89.90"), ("SKU-MS-02", "Wireless mouse", "24.50"),
                        ("SKU-MN-27", "27\" monitor", "249.00"), ("SKU-CB-03", "USB-C cable", "9.99"),
                        ("SKU-HD-04", "Headset", "59.00"), ("SKU-DK-05", "Docking station", "139.95"),
                        ("SKU-LT-06", "Desk lamp", "34.75"), ("SKU-CH-07", "Office chair", "319.00")]
        let base = CivilDate.days(year: 2024, month: 1, day: 1) * 86_400
        let customerCount = max(1, configuration.orders / 5)
        for index in 0..<customerCount {
            let name = "\(first[Int(random.next() % UInt64(first.count))]) \(last[Int(random.next() % UInt64(last.count))])"
            let email = name.lowercased().replacingOccurrences(of: " ", with: ".") + "\(index + 1)@example.com"
            let created = UTCDateTime(seconds: base + Int64(index) * 3600 * 7)
            customers.append(.object(JSONObject([
                "id": .string(paddedID("cus_", index + 1)),
                "email": .string(email),
                "name": .string(name),
                "country": .string(countries[index % countries.count]),
                "vip": .bool(random.next() % 7 == 0),
                "created_at": .string(created.description),
            ])))
        }
        for index in 0..<configuration.orders {
            let customer = customers[Int(random.next() % UInt64(customers.count))]
            var items: [JSONValue] = []
            var totalCents = 0
            var used = Set<Int>()
            for _ in 0..<(1 + Int(random.next() % 4)) {
                let productIndex = Int(random.next() % UInt64(products.count))
                guard used.insert(productIndex).inserted else { continue }
                let product = products[productIndex]
                let quantity = 1 + Int(random.next() % 3)
                totalCents += quantity * Self.cents(product.2)
                items.append(.object(JSONObject([
                    "sku": .string(product.0), "name": .string(product.1),
                    "quantity": .number(String(quantity)), "unit_price": .string(product.2),
                ])))
            }
            let status = Self.statuses[Int(random.next() % UInt64(Self.statuses.count))]
            let created = base + Int64(index) * 3600 + Int64(random.next() % 3600)
            let updated = created + Int64(random.next() % 86_400)
            // Some timestamps come with a +02:00 offset, as real APIs mix them.
            let updatedText = index % 3 == 0
                ? Self.withOffset(UTCDateTime(seconds: updated), hours: 2)
                : UTCDateTime(seconds: updated).description
            let city = Int(random.next() % UInt64(cities.count))
            orders.append(.object(JSONObject([
                "id": .string(paddedID("ord_", index + 1)),
                "number": .number(String(1001 + index)),
                "status": .string(status),
                "amount": .object(JSONObject(["value": .string(Self.money(totalCents)), "currency": .string("EUR")])),
                "paid": .bool(status != "pending" && status != "cancelled"),
                "customer": .object(JSONObject(["id": customer["id"]!, "email": customer["email"]!, "name": customer["name"]!])),
                "items": .array(items),
                "shipping_address": .object(JSONObject([
                    "street": .string("\(1 + random.next() % 200) Main Street"), "city": .string(cities[city]),
                    "country": .string(countries[city]),
                ])),
                "created_at": .string(UTCDateTime(seconds: created).description),
                "updated_at": .string(updatedText),
            ])))
            updatedAt.append(UTCDateTime(seconds: updated))
        }
    }

    static func cents(_ price: String) -> Int {
        let parts = price.split(separator: ".")
        return Int(parts[0])! * 100 + (parts.count > 1 ? Int(parts[1])! : 0)
    }

    static func money(_ cents: Int) -> String {
        let fraction = cents % 100
        return "\(cents / 100)." + (fraction < 10 ? "0" : "") + String(fraction)
    }

    static func withOffset(_ time: UTCDateTime, hours: Int) -> String {
        let shifted = UTCDateTime(seconds: time.seconds + Int64(hours) * 3600).description
        return String(shifted.dropLast()) + String(format: "+%02d:00", hours)
    }
}

/// A small, fast, seedable random generator (Steele, Lea and Flood's SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// `cus_00042`: a prefix and a number padded to five digits.
func paddedID(_ prefix: String, _ number: Int) -> String {
    let digits = String(number)
    return prefix + String(repeating: "0", count: max(0, 5 - digits.count)) + digits
}

