import CSQLite

/// A SQLite failure: the result code and SQLite's message.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    public let code: Int32
    public let message: String
    public var description: String { "SQLite error \(code): \(message)" }
    /// The file is not a database or is damaged.
    public var isCorruption: Bool { code & 0xFF == SQLITE_CORRUPT || code & 0xFF == SQLITE_NOTADB }
}

/// One connection. Not thread-safe by itself: its owner (the store's actor, on its own
/// thread) makes every call.
public final class SQLiteDatabase {
    let handle: OpaquePointer

    /// Opens (creating) the database at `path`.
    public init(path: String) throws(SQLiteError) {
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            throw SQLiteError(code: rc, message: message)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, 2000)
    }

    deinit { sqlite3_close_v2(handle) }

    var lastError: SQLiteError { SQLiteError(code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle))) }

    /// Runs statements that return nothing of interest.
    public func execute(_ sql: String) throws(SQLiteError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        guard rc == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(message)
            throw SQLiteError(code: rc, message: text)
        }
    }

    public func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil) == SQLITE_OK, let stmt else { throw lastError }
        return SQLiteStatement(stmt, database: self)
    }

    /// The first column of the first row of `sql`, as text.
    public func scalar(_ sql: String) throws(SQLiteError) -> String? {
        let s = try prepare(sql)
        return try s.step() ? s.text(0) : nil
    }

    /// `PRAGMA user_version`: the schema version.
    public func userVersion() throws(SQLiteError) -> Int { Int(try scalar("PRAGMA user_version") ?? "0") ?? 0 }

    /// `body` in one transaction: committed when it returns, rolled back when it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Rows changed by the last statement.
    public var changes: Int { Int(sqlite3_changes(handle)) }
}

/// A prepared statement, reused: bind, step, read columns, `reset`.
public final class SQLiteStatement {
    let stmt: OpaquePointer
    let database: SQLiteDatabase

    init(_ stmt: OpaquePointer, database: SQLiteDatabase) {
        self.stmt = stmt
        self.database = database
    }

    deinit { sqlite3_finalize(stmt) }

    /// Clears the last run and binds `values` to parameters 1…n (Int, Int64, Double, String or nil).
    @discardableResult
    public func bind(_ values: [SQLiteValue]) throws(SQLiteError) -> SQLiteStatement {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
        for (i, v) in values.enumerated() {
            let index = Int32(i + 1)
            let rc: Int32
            switch v {
            case .null: rc = sqlite3_bind_null(stmt, index)
            case .int(let n): rc = sqlite3_bind_int64(stmt, index, n)
            case .double(let d): rc = sqlite3_bind_double(stmt, index, d)
            case .text(let s):
                rc = s.utf8.withContiguousStorageIfAvailable { buf in
                    buf.withMemoryRebound(to: CChar.self) { csqlite_bind_text(stmt, index, $0.baseAddress, Int32($0.count)) }
                } ?? csqlite_bind_text(stmt, index, s, -1)
            }
            guard rc == SQLITE_OK else { throw database.lastError }
        }
        return self
    }

    /// The next row: true when there is one, false when done.
    public func step() throws(SQLiteError) -> Bool {
        switch sqlite3_step(stmt) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let e = database.lastError
            sqlite3_reset(stmt)
            throw e
        }
    }

    /// Runs a statement that returns no rows.
    public func run(_ values: [SQLiteValue] = []) throws(SQLiteError) {
        try bind(values)
        while try step() {}
        sqlite3_reset(stmt)
    }

    public func int(_ column: Int32) -> Int64 { sqlite3_column_int64(stmt, column) }
    public func double(_ column: Int32) -> Double { sqlite3_column_double(stmt, column) }
    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(stmt, column) == SQLITE_NULL }
    public func optionalDouble(_ column: Int32) -> Double? { isNull(column) ? nil : double(column) }
    public func text(_ column: Int32) -> String {
        guard let p = sqlite3_column_text(stmt, column) else { return "" }
        let n = Int(sqlite3_column_bytes(stmt, column))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }
    public func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }
}

/// A value bound to a statement parameter.
public enum SQLiteValue: Sendable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)

    public static func of(_ s: String?) -> SQLiteValue { s.map(SQLiteValue.text) ?? .null }
    public static func of(_ d: Double?) -> SQLiteValue { d.map(SQLiteValue.double) ?? .null }
    public static func of(_ n: Int) -> SQLiteValue { .int(Int64(n)) }
}
