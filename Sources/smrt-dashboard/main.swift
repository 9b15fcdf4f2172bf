import ArgumentParser
import Foundation
import SmrtDashboard

/// `smrt-dashboard: error: <message>` on stderr, then exit.
func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data("smrt-dashboard: error: \(message)\n".utf8))
    exit(code)
}

let configuration: DashboardConfiguration
do {
    configuration = try DashboardCommand.parse().makeConfiguration()
} catch let error as DashboardError {
    fail(error.description, code: error.exitCode)
} catch {
    let code = DashboardCommand.exitCode(for: error)
    if code == .success {
        print(DashboardCommand.fullMessage(for: error))
        exit(0)
    }
    var message = DashboardCommand.fullMessage(for: error)
    if message.hasPrefix("Error: ") { message.removeFirst("Error: ".count) }
    fail(message, code: 2)
}

let server: DashboardServer
do {
    server = try await DashboardServer.open(configuration)
} catch let error as DashboardError {
    fail(error.description, code: error.exitCode)
} catch {
    fail("\(error)", code: 1)
}

do {
    // The first line of stdout is the URL (scripts and tests read it); written unbuffered.
    try await server.run { url in FileHandle.standardOutput.write(Data("\(url)\n".utf8)) }
    await server.close()
    exit(0)
} catch {
    await server.close()
    fail("\(error)", code: 1)
}
