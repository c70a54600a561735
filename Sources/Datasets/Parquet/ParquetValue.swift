/// One non-null value of a Parquet column, by physical type.
public enum ParquetValue: Equatable, Sendable {
    case bool(Bool)
    case int32(Int32)
    case int64(Int64)
    /// Legacy INT96 timestamp: nanoseconds within the day and the Julian day number.
    case int96(nanosOfDay: Int64, julianDay: Int32)
    case float(Float)
    case double(Double)
    case bytes([UInt8])

    var typeName: String {
        switch self {
        case .bool: return "BOOLEAN"
        case .int32: return "INT32"
        case .int64: return "INT64"
        case .int96: return "INT96"
        case .float: return "FLOAT"
        case .double: return "DOUBLE"
        case .bytes: return "BYTE_ARRAY"
        }
    }
}

/// ISO-8601 text for Parquet timestamps (proleptic Gregorian, as Arrow).
public enum ParquetTimestamp {
    /// `value` counts `unit`s since 1970-01-01T00:00:00; "Z" is appended for UTC-adjusted columns.
    /// Fractional digits follow the unit (3/6/9) and are omitted when zero.
    public static func iso8601(_ value: Int64, unit: ParquetTimeUnit, utc: Bool) -> String {
        let perSecond: Int64
        let digits: Int
        switch unit {
        case .millis: perSecond = 1_000; digits = 3
        case .micros: perSecond = 1_000_000; digits = 6
        case .nanos: perSecond = 1_000_000_000; digits = 9
        }
        // Floor division so times before 1970 get a positive fraction.
        var seconds = value / perSecond
        var fraction = value % perSecond
        if fraction < 0 { fraction += perSecond; seconds -= 1 }
        return format(seconds: seconds, fraction: fraction, digits: digits, utc: utc)
    }

    /// INT96: Julian day 2440588 is 1970-01-01.
    public static func iso8601(nanosOfDay: Int64, julianDay: Int32) -> String {
        let seconds = (Int64(julianDay) - 2_440_588) * 86_400 + nanosOfDay / 1_000_000_000
        return format(seconds: seconds, fraction: nanosOfDay % 1_000_000_000, digits: 9, utc: true)
    }

    static func format(seconds: Int64, fraction: Int64, digits: Int, utc: Bool) -> String {
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 { secondOfDay += 86_400; days -= 1 }
        let (y, m, d) = civilFromDays(days)
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        var text = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secondOfDay / 3600, 2)):"
            + "\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))"
        if fraction != 0 { text += "." + pad(fraction, digits) }
        return utc ? text + "Z" : text
    }

    /// Days since 1970-01-01 → (year, month, day). Howard Hinnant's `civil_from_days`.
    static func civilFromDays(_ z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
