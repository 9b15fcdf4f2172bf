// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "smrt-jobs",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "SmrtJobs", targets: ["SmrtJobs", "SmrtJobsSQLite", "SmrtJobsPostgres", "SmrtJobsMemory", "SmrtBackends"]),
        // The store conformance suite, for packages that bring their own backend (imports Testing).
        .library(name: "SmrtJobsConformance", targets: ["SmrtJobsConformance"]),
        .library(name: "SmrtSupervisor", targets: ["SmrtSupervisor"]),
        .library(name: "SmrtWorker", targets: ["SmrtWorker"]),
        .executable(name: "smrt-supervisor", targets: ["smrt-supervisor"]),
        .executable(name: "smrt-jobs", targets: ["smrt-jobs"]),
        .executable(name: "smrt-demo-worker", targets: ["smrt-demo-worker"]),
        .executable(name: "smrt-bench", targets: ["smrt-bench"]),
        .executable(name: "smrt-dashboard", targets: ["smrt-dashboard"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
    ],
    targets: [
        // C shims: system libraries through pkg-config, and the variadic/macro calls Swift cannot make.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CLibUV", pkgConfig: "libuv", providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(name: "CSmrtShims"),

        // Core: model, store and backend protocols, builder, registry, runner, cron. No libuv, no SQL.
        .target(
            name: "SmrtJobs",
            dependencies: [
                .product(name: "Logging", package: "swift-log"), .product(name: "CoreMetrics", package: "swift-metrics"),
            ]),
        // Backends: one target each (store, change signal, error classes, health check, migrations).
        .target(name: "SmrtJobsSQLite", dependencies: ["SmrtJobs", "CSQLite", "CSmrtShims"]),
        .target(name: "SmrtJobsPostgres", dependencies: ["SmrtJobs", "CLibPQ"]),
        // A queue in the memory of one process: for unit tests of apps, and the proof that the seam holds.
        .target(name: "SmrtJobsMemory", dependencies: ["SmrtJobs"]),
        // The behaviour every store must have, as checks any backend's tests run (Swift Testing).
        .target(name: "SmrtJobsConformance", dependencies: ["SmrtJobs"]),
        // Opens the backend a `--db` string names (a path: SQLite; `postgres://`: PostgreSQL).
        .target(name: "SmrtBackends", dependencies: ["SmrtJobs", "SmrtJobsSQLite", "SmrtJobsPostgres"]),
        // The supervisor <-> worker wire format, shared by both sides. No libuv.
        .target(name: "SmrtProtocol"),
        // Worker runtime for Swift programs.
        .target(
            name: "SmrtWorker",
            dependencies: ["SmrtJobs", "SmrtProtocol", "CSmrtShims"]),
        // libuv wrappers, worker pool, supervisor.
        .target(
            name: "SmrtSupervisor",
            dependencies: [
                "SmrtJobs", "SmrtBackends", "SmrtProtocol", "CLibUV", "CSmrtShims",
                .product(name: "Logging", package: "swift-log"),
            ]),

        // The web dashboard, its JSON API and the cluster's /metrics (Hummingbird; the supervisor does not link it).
        .target(
            name: "SmrtDashboard",
            dependencies: [
                "SmrtJobs", "SmrtBackends",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        // Thin executables.
        .executableTarget(
            name: "smrt-supervisor",
            dependencies: ["SmrtSupervisor", "SmrtBackends", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(
            name: "smrt-jobs",
            dependencies: ["SmrtJobs", "SmrtBackends", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(
            name: "smrt-dashboard",
            dependencies: ["SmrtDashboard", "SmrtBackends", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(
            name: "smrt-demo-worker",
            dependencies: ["SmrtWorker", "SmrtJobs", "CSmrtShims"],
            path: "examples/DemoWorker"),
        // The benchmark program behind scripts/bench.sh (docs/performance.md).
        .executableTarget(
            name: "smrt-bench",
            dependencies: [
                "SmrtJobs", "SmrtJobsSQLite", "SmrtJobsPostgres", "SmrtProtocol", "CSQLite",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // An app that embeds the supervisor and re-execs itself as its worker (docs/supervisor.md).
        .executableTarget(
            name: "smrt-inprocess-example",
            dependencies: ["SmrtJobs", "SmrtBackends"],
            path: "examples/InProcess"),
        .executableTarget(
            name: "smrt-embedded-example",
            dependencies: ["SmrtSupervisor", "SmrtWorker", "SmrtJobs", "SmrtBackends"],
            path: "examples/EmbeddedSupervisor"),

        .testTarget(
            name: "SmrtJobsTests",
            dependencies: ["SmrtJobs", "SmrtJobsSQLite", "SmrtJobsMemory", "SmrtJobsConformance", "SmrtBackends"]),
        // Every conformance check against every store in this package.
        .testTarget(
            name: "SmrtJobsConformanceTests",
            dependencies: ["SmrtJobsConformance", "SmrtJobs", "SmrtJobsSQLite", "SmrtJobsPostgres", "SmrtJobsMemory"]),
        // What only SQLite promises: schema, plans, pragmas, locking, error codes, change signal, health.
        .testTarget(
            name: "SmrtJobsSQLiteTests", dependencies: ["SmrtJobsSQLite", "SmrtJobs", "SmrtJobsConformance", "CSQLite"]),
        // What only PostgreSQL promises: URLs and redaction, error classes, reconnects, concurrent opens and claims,
        // LISTEN/NOTIFY.
        .testTarget(
            name: "SmrtJobsPostgresTests",
            dependencies: ["SmrtJobsPostgres", "SmrtJobs", "SmrtJobsConformance", "SmrtBackends", "CLibPQ"]),
        .testTarget(name: "SmrtJobsMemoryTests", dependencies: ["SmrtJobsMemory", "SmrtJobs"]),
        .testTarget(
            name: "SmrtSupervisorTests",
            dependencies: [
                "SmrtSupervisor", "SmrtProtocol", "SmrtJobs", "SmrtJobsSQLite", "SmrtJobsMemory", "SmrtBackends", "CSQLite",
            ]),
        .testTarget(
            name: "SmrtDashboardTests",
            dependencies: [
                "SmrtDashboard", "SmrtJobs", "SmrtJobsMemory", "SmrtJobsSQLite", "SmrtJobsPostgres", "SmrtBackends",
                "SmrtJobsConformance", .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "SmrtCLITests", dependencies: ["SmrtJobs", "SmrtJobsSQLite", "SmrtJobsConformance"]),
    ]
)
