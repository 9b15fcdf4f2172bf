import Foundation
import SmrtJobsConformance
import Testing

/// What the browser and metrics tests need from outside Swift, found once: Python 3 with `selenium` and
/// `prometheus_client`, Chromium and its chromedriver (scripts/ensure-deps.sh installs them with
/// `SMRT_DEPS_FOR_TESTS=1`, as scripts/test.sh does). Without them those tests skip and say what is missing,
/// except in CI (`CI=true`), where they run and fail.
enum ExternalTools {
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// `SMRT_TEST_PYTHON`, else `python3` on the PATH.
    static let python: String = ProcessInfo.processInfo.environment["SMRT_TEST_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
        ?? onPath("python3") ?? "/usr/bin/python3"
    /// `SMRT_TEST_CHROMIUM`, else `chromium` (Debian) or `chromium-browser` on the PATH.
    static let chromium: String? = ProcessInfo.processInfo.environment["SMRT_TEST_CHROMIUM"].flatMap {
        FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil
    } ?? onPath("chromium") ?? onPath("chromium-browser")
    static let chromedriver: String? = onPath("chromedriver")

    /// What the browser test lacks (empty: nothing).
    static let browserMissing: [String] = {
        var missing: [String] = []
        if chromium == nil { missing.append("chromium") }
        if chromedriver == nil { missing.append("chromedriver (Debian: chromium-driver)") }
        if !pythonImports("selenium") { missing.append("the Python package selenium for \(python)") }
        return missing
    }()

    /// What the metrics parser test lacks.
    static let metricsMissing: [String] = pythonImports("prometheus_client") ? [] : ["the Python package prometheus_client for \(python)"]

    static func skipReason(_ missing: [String]) -> Comment {
        Comment(rawValue: "missing \(missing.joined(separator: ", ")): run scripts/ensure-deps.sh with SMRT_DEPS_FOR_TESTS=1, or scripts/test.sh")
    }

    /// Throws, naming what is missing, when `missing` is not empty (only reached in CI: elsewhere the test skips).
    static func require(_ missing: [String]) throws {
        guard missing.isEmpty else {
            throw SpawnedProcess.Failure(description: "CI=true needs this test to run, but it lacks "
                + missing.joined(separator: ", ") + " (scripts/ensure-deps.sh with SMRT_DEPS_FOR_TESTS=1 installs them)")
        }
    }

    static func onPath(_ name: String) -> String? {
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Whether `python -c "import module"` succeeds within 30 s.
    static func pythonImports(_ module: String) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: python), let directory = try? TemporaryDirectory(prefix: "smrt-py-probe") else {
            return false
        }
        defer { directory.remove() }
        guard let process = try? SpawnedProcess(python, ["-c", "import \(module)"], name: "probe", directory: directory.path("")),
            let exit = try? process.waitForExit(timeout: 30)
        else { return false }
        return exit == .exited(0)
    }
}
