import PluginAPI

/// The file and storage methods, answered through the ``StorageProvider``.
struct FileMethods {
    let capabilities: CapabilityAccess

    static let listParams = [
        ParamDescriptor("limit", .integer(minimum: 1, maximum: 1000), summary: "page size, default 50"),
        ParamDescriptor("offset", .integer(minimum: 0), summary: "files to skip"),
        ParamDescriptor("device", .string(pattern: DeviceParam.pattern), summary: "only this camera's files"),
    ]

    func register(_ r: OwnedRegistry) throws {
        for kind in [MediaKind.recordings, .snapshots] {
            let noun = kind == .recordings ? "recording" : "snapshot"
            try r.register(MethodDescriptor("list_\(kind.rawValue)", role: .viewer, summary: "\(kind == .recordings ? "Recordings" : "Snapshots"), newest first.",
                                            params: FileMethods.listParams)) { [capabilities] call in
                let storage = try capabilities.storage()
                let limit = call.params.int("limit") ?? 50, offset = call.params.int("offset") ?? 0
                let page = try await storage.list(kind, device: call.params.string("device"), limit: limit, offset: offset)
                return .object(["files": .array(page.files.map { .object(FileJSON.file($0)) }), "total": .int(page.total),
                                "limit": .int(limit), "offset": .int(offset)])
            }
            try r.register(MethodDescriptor("get_\(noun)_info", role: .viewer, summary: "One \(noun).", params: [FilenameParam.descriptor])) { [capabilities] call in
                let name = try call.params.requireString("filename")
                try FilenameParam.check(name)
                return .object(FileJSON.file(try await capabilities.storage().info(kind, filename: name)))
            }
            try r.register(MethodDescriptor("delete_\(noun)", role: .operator, summary: "Deletes one \(noun).", params: [FilenameParam.descriptor])) { [capabilities] call in
                let name = try call.params.requireString("filename")
                try FilenameParam.check(name)
                try await capabilities.storage().delete(kind, filename: name)
                call.logger.notice("deleted \(noun) \(name)", [("audit", "delete"), ("filename", name), ("user", call.principal?.userID ?? "-")])
                return .object(["filename": .string(name), "deleted": true, "message": .string("\(noun) \(name) deleted")])
            }
        }

        try r.register(MethodDescriptor("get_storage_info", role: .admin, summary: "Space and thresholds.")) { [capabilities] _ in
            .object(StorageJSON.info(try await capabilities.storage().storageInfo()))
        }

        try r.register(MethodDescriptor("set_retention_policy", role: .admin, summary: "Sets the retention policy (persisted).", params: [
            ParamDescriptor("policy_type", .enumeration(["age", "size", "manual"]), required: true),
            ParamDescriptor("enabled", .boolean, required: true),
            ParamDescriptor("max_age_days", .number(minimum: 0), summary: "for age: files older than this go"),
            ParamDescriptor("max_size_gb", .number(minimum: 0), summary: "for size: the oldest files go while the store is larger"),
        ])) { [capabilities] call in
            let type = call.params.string("policy_type").flatMap(RetentionPolicyType.init(rawValue:)) ?? .manual
            let enabled = call.params.bool("enabled") ?? false
            let maxAge = call.params.double("max_age_days"), maxSize = call.params.double("max_size_gb")
            if enabled && type == .age && maxAge == nil {
                throw RPCError.invalidParams(param: "max_age_days", rule: "required", detail: "an enabled age policy needs max_age_days")
            }
            if enabled && type == .size && maxSize == nil {
                throw RPCError.invalidParams(param: "max_size_gb", rule: "required", detail: "an enabled size policy needs max_size_gb")
            }
            let p = try await capabilities.storage().setRetentionPolicy(RetentionPolicy(type: type, enabled: enabled, maxAgeDays: maxAge, maxSizeGB: maxSize))
            call.logger.notice("retention policy set", [("audit", "retention"), ("policy_type", p.type.rawValue), ("enabled", String(p.enabled))])
            var o = StorageJSON.policy(p)
            o["message"] = .string("retention policy \(p.type.rawValue) \(p.enabled ? "enabled" : "disabled")")
            return .object(o)
        }

        try r.register(MethodDescriptor("cleanup_old_files", role: .admin, summary: "Applies the retention policy now (or lists what it would remove).", params: [
            ParamDescriptor("dry_run", .boolean, summary: "only list what would go"),
        ])) { [capabilities] call in
            let report = try await capabilities.storage().cleanup(dryRun: call.params.bool("dry_run") ?? false)
            return .object(["cleanup_executed": .bool(report.executed), "dry_run": .bool(!report.executed), "files_deleted": .int(report.executed ? report.files.count : 0),
                            "files_matched": .int(report.files.count), "space_freed": .int(report.executed ? report.bytesFreed : 0),
                            "recordings_removed": .int(report.files.filter { $0.kind == .recordings }.count),
                            "snapshots_removed": .int(report.files.filter { $0.kind == .snapshots }.count),
                            "files": .array(report.files.map { .object(FileJSON.file($0)) }), "message": .string(report.message)])
        }
    }
}

/// The contract's file shapes.
enum FileJSON {
    static func file(_ f: MediaFile) -> JSONObject {
        var o: JSONObject = ["filename": .string(f.filename), "device": .string(f.device), "file_size": .int(f.fileSize),
                             "created_time": .string(HostClock.rfc3339(f.createdTime)), "modified_time": .string(HostClock.rfc3339(f.modifiedTime)),
                             "format": .string(f.format)]
        if f.kind == .recordings { o["duration"] = f.duration.map(TimeJSON.seconds) ?? .null }
        o["resolution"] = f.resolution.map(JSONValue.string) ?? .null
        o["in_use"] = .bool(f.inUse)
        o["download_url"] = f.downloadPath.map(JSONValue.string) ?? .null
        return o
    }
}

/// The contract's storage shapes.
enum StorageJSON {
    static func info(_ i: StorageInfo) -> JSONObject {
        ["total_space": .int(i.totalBytes), "used_space": .int(i.usedBytes), "available_space": .int(i.availableBytes),
         "usage_percentage": .double((i.usagePercent * 100).rounded() / 100), "recordings_size": .int(i.recordingsBytes),
         "snapshots_size": .int(i.snapshotsBytes), "warn_threshold": .double(i.warnPercent), "block_threshold": .double(i.blockPercent),
         "low_space_warning": .bool(i.level >= .warning), "critical_space_warning": .bool(i.level >= .critical), "level": .string(i.level.rawValue)]
    }

    static func warning(_ i: StorageInfo, previous: StorageLevel) -> JSONObject {
        var o = info(i)
        o["previous_level"] = .string(previous.rawValue)
        return o
    }

    static func policy(_ p: RetentionPolicy) -> JSONObject {
        ["policy_type": .string(p.type.rawValue), "enabled": .bool(p.enabled), "max_age_days": p.maxAgeDays.map(JSONValue.double) ?? .null,
         "max_size_gb": p.maxSizeGB.map(JSONValue.double) ?? .null]
    }
}
