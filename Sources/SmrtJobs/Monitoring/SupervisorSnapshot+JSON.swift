import Foundation

/// The stored form of a snapshot (the `stats` column of `_smrt_workers`), shared by every store: compact JSON of
/// the Codable fields with their camelCase names, dates as `Timestamp` text (UTC, whole milliseconds), a
/// non-finite number (a histogram sum gone wrong) as the string "inf", "-inf" or "nan" rather than a failure.
extension SupervisorSnapshot {
    /// The JSON text to store, or nil if it cannot be encoded (then no snapshot is stored: a lease renewal must
    /// never fail over its statistics).
    public var storedJSON: String? {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.format(date))
        }
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let data = try? encoder.encode(self) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads the stored form; nil when the text is not a snapshot, or one of a newer `version` than
    /// `currentVersion` (its fields may mean something this reader does not know). Never throws: one bad row must
    /// not hide the other supervisors.
    public init?(storedJSON text: String) {
        let data = Data(text.utf8)
        let decoder = JSONDecoder()
        guard let header = try? decoder.decode(VersionHeader.self, from: data), header.version <= Self.currentVersion else {
            return nil
        }
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = Timestamp.parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a timestamp: \(text)")
            }
            return date
        }
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let snapshot = try? decoder.decode(SupervisorSnapshot.self, from: data) else { return nil }
        self = snapshot
    }

    /// The one field read before the rest.
    private struct VersionHeader: Decodable {
        var version: Int
    }
}
