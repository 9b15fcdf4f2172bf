import Foundation

/// How stores write dates: fixed-width ISO-8601 UTC with milliseconds, `2026-11-29T06:54:30.123Z`.
///
/// Text of one width sorts in time order, compares correctly in SQL (`run_at <= ?`) and reads well in the
/// sqlite3 shell. Formatting and parsing are done by hand because Foundation's formatters cost tens of
/// microseconds per call, which shows on the claim path.
public enum Timestamp {
    public static func format(_ date: Date) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        append(date, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the stored form of `date` (24 bytes of UTF-8) to `out`, for writers that build bytes.
    public static func append(_ date: Date, to out: inout [UInt8]) {
        let totalMs = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var days = totalMs / 86_400_000
        var msOfDay = totalMs % 86_400_000
        if msOfDay < 0 { msOfDay += 86_400_000; days -= 1 }
        let (y, m, d) = civil(fromDays: days)
        func put(_ value: Int64, _ width: Int, then separator: UInt8) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            while divisor > 0 {
                out.append(UInt8(48 + (value / divisor) % 10))
                divisor /= 10
            }
            out.append(separator)
        }
        put(y, 4, then: UInt8(ascii: "-"))
        put(m, 2, then: UInt8(ascii: "-"))
        put(d, 2, then: UInt8(ascii: "T"))
        put(msOfDay / 3_600_000, 2, then: UInt8(ascii: ":"))
        put((msOfDay / 60_000) % 60, 2, then: UInt8(ascii: ":"))
        put((msOfDay / 1000) % 60, 2, then: UInt8(ascii: "."))
        put(msOfDay % 1000, 3, then: UInt8(ascii: "Z"))
    }

    /// Parses the stored form; also accepts no fraction (`...:30Z`), a space instead of `T`, and no `Z`.
    public static func parse(_ text: String) -> Date? {
        var utf8 = Array(text.utf8)
        if utf8.last == 90 { utf8.removeLast() }
        guard utf8.count >= 19, utf8[4] == 45, utf8[7] == 45, utf8[10] == 84 || utf8[10] == 32,
            utf8[13] == 58, utf8[16] == 58
        else { return nil }
        func num(_ at: Int, _ width: Int) -> Int64? {
            var v: Int64 = 0
            for i in at..<(at + width) {
                let c = utf8[i]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            return v
        }
        guard let y = num(0, 4), let m = num(5, 2), let d = num(8, 2), let hh = num(11, 2), let mm = num(14, 2),
            let ss = num(17, 2), (1...12).contains(m), (1...31).contains(d), hh < 24, mm < 60, ss < 61
        else { return nil }
        var ms: Int64 = 0
        if utf8.count > 19 {
            guard utf8[19] == 46, utf8.count > 20 else { return nil }
            var scale: Int64 = 100
            for c in utf8[20...] {
                guard c >= 48 && c <= 57 else { return nil }
                ms += Int64(c - 48) * scale
                scale /= 10
            }
        }
        let days = daysFromCivil(y, m, d)
        let total = days * 86_400_000 + hh * 3_600_000 + mm * 60_000 + ss * 1000 + ms
        return Date(timeIntervalSince1970: Double(total) / 1000)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
    }
}
