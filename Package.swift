// swift-tools-version:6.1
import PackageDescription

/// sheetsync: SQLite worksheet sync and ETL job runner.
///
/// Module layout follows ../shared/DESIGN.md: a core without I/O, one module per
/// stage, and a thin executable that wires them together. Stage modules never
/// import each other; SheetSyncRunner connects them.
let package = Package(
    name: "sheetsync",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "sheetsync", targets: ["sheetsync"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // Already in the graph through the two above; named here so targets can use NIO's types.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // Already built for swift-nio-ssl's certificates; HMAC-SHA256 for webhook signatures.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // The daemon's /metrics: swift-metrics' API (already in the graph through Hummingbird)
        // with the Prometheus back end, so other back ends can be plugged in the same way.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // The PostgreSQL store (issue 19): worksheets and sheetsync's own tables on a server.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .target(name: "SheetSyncCore"),
        // sqlite3_config, which Swift cannot call (a variadic C function).
        .target(
            name: "CSheetSyncSQLite",
            dependencies: [.product(name: "GRDBSQLite", package: "GRDB.swift")],
            linkerSettings: [.linkedLibrary("sqlite3")]
        ),
        .target(
            name: "SheetSyncFiles",
            dependencies: ["SheetSyncCore", .product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "SheetSyncStore",
            dependencies: [
                "SheetSyncCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API, for binding values on the page-write path (BoundStatement).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                "CSheetSyncSQLite",
            ]
        ),
        // The PostgreSQL implementation of `WorksheetStore`; only the executable wires it in.
        .target(
            name: "SheetSyncPostgres",
            dependencies: [
                "SheetSyncCore", "SheetSyncStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SheetSyncHTTP",
            dependencies: [
                "SheetSyncCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(name: "SheetSyncTransform", dependencies: ["SheetSyncCore"]),
        .target(name: "SheetSyncSchedule", dependencies: ["SheetSyncCore"]),
        .target(
            name: "SheetSyncPush",
            dependencies: ["SheetSyncCore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "SheetSyncRunner",
            dependencies: [
                "SheetSyncCore", "SheetSyncFiles", "SheetSyncStore", "SheetSyncHTTP", "SheetSyncTransform", "SheetSyncPush",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "SheetSyncDemo",
            dependencies: [
                "SheetSyncCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SheetSyncDaemon",
            dependencies: [
                "SheetSyncCore", "SheetSyncFiles", "SheetSyncStore", "SheetSyncHTTP", "SheetSyncRunner", "SheetSyncSchedule",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Test support only: never a dependency of a product target.
        .target(
            name: "SheetSyncTesting",
            dependencies: [
                "SheetSyncSchedule", "SheetSyncHTTP", "SheetSyncDemo",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "sheetsync",
            dependencies: [
                "SheetSyncCore", "SheetSyncFiles", "SheetSyncStore", "SheetSyncHTTP", "SheetSyncTransform", "SheetSyncRunner",
                "SheetSyncDemo", "SheetSyncDaemon", "SheetSyncPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "SheetSyncCoreTests", dependencies: ["SheetSyncCore"]),
        .testTarget(name: "SheetSyncFilesTests", dependencies: ["SheetSyncFiles", "SheetSyncCore"]),
        .testTarget(
            name: "SheetSyncStoreTests",
            dependencies: ["SheetSyncStore", "SheetSyncCore", "SheetSyncPostgres", "SheetSyncTesting", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(name: "SheetSyncTransformTests", dependencies: ["SheetSyncTransform", "SheetSyncCore"]),
        .testTarget(name: "SheetSyncPushTests", dependencies: ["SheetSyncPush", "SheetSyncCore"]),
        .testTarget(name: "SheetSyncScheduleTests", dependencies: ["SheetSyncSchedule", "SheetSyncCore", "SheetSyncTesting"]),
        .testTarget(
            name: "SheetSyncHTTPTests",
            dependencies: [
                "SheetSyncHTTP", "SheetSyncCore", "SheetSyncDemo", "SheetSyncTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(
            name: "SheetSyncRunnerTests",
            dependencies: [
                "SheetSyncRunner", "SheetSyncDemo", "SheetSyncCore", "SheetSyncFiles", "SheetSyncStore", "SheetSyncHTTP",
                "SheetSyncTransform", "SheetSyncTesting", "SheetSyncPostgres",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "SheetSyncDaemonTests",
            dependencies: [
                "SheetSyncDaemon", "SheetSyncCore", "SheetSyncFiles", "SheetSyncStore", "SheetSyncTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "SheetSyncCLITests", dependencies: ["sheetsync", "SheetSyncTesting"], exclude: ["Fixtures"]),
    ]
)
