import Foundation
import SmrtJobs

/// A signal named in a `crash` job: "SEGV", "SIGSEGV" or a number.
struct CrashSignal {
    static let byName: [String: Int32] = [
        "SEGV": SIGSEGV, "ABRT": SIGABRT, "KILL": SIGKILL, "BUS": SIGBUS,
        "ILL": SIGILL, "FPE": SIGFPE, "TERM": SIGTERM,
    ]
    static var names: [String] { byName.keys.sorted() }

    let number: Int32

    init?(_ value: JSONValue) {
        if let number = value.intValue {
            guard number > 0 && number < 65 else { return nil }
            self.number = Int32(number)
            return
        }
        guard var name = value.stringValue?.uppercased() else { return nil }
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        if let number = Int32(name), number > 0 && number < 65 {
            self.number = number
        } else if let number = Self.byName[name] {
            self.number = number
        } else {
            return nil
        }
    }
}
