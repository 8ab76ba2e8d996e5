// swift-tools-version:6.1
import PackageDescription

/// sheetsync: SQLite worksheet sync and ETL job runner.
///
/// Module layout follows ../shared/DESIGN.md: a core without I/O, one module per
/// stage, and a thin executable that wires them together. Stage modules never
/// import each other.
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
    ],
    targets: [
        .target(name: "SheetSyncCore"),
        .target(
            name: "SheetSyncFiles",
            dependencies: [
                "SheetSyncCore",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "SheetSyncStore",
            dependencies: [
                "SheetSyncCore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .executableTarget(
            name: "sheetsync",
            dependencies: [
                "SheetSyncCore",
                "SheetSyncFiles",
                "SheetSyncStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "SheetSyncCoreTests", dependencies: ["SheetSyncCore"]),
        .testTarget(name: "SheetSyncFilesTests", dependencies: ["SheetSyncFiles", "SheetSyncCore"]),
        .testTarget(
            name: "SheetSyncStoreTests",
            dependencies: ["SheetSyncStore", "SheetSyncCore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(name: "SheetSyncCLITests", dependencies: ["sheetsync"]),
    ]
)
