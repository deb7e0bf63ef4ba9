#if canImport(Glibc)
import Glibc
#endif
import CJansson
import NATS
import NATSMicro

// The micro API of the header: services, groups, endpoints, requests, discovery.
// `snats_service` and `snats_group` are boxes owned by the caller; `snats_endpoint` is the
// endpoint object, borrowed from its service; `snats_micro_request` is the request object
// itself, so retain/release are reference counts.

public typealias CMicroHandler = @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Void
public typealias CServiceDoneHandler = @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Void
public typealias CServiceErrorHandler = @convention(c) (
    OpaquePointer?, OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?
) -> Void
public typealias CStatsHandler = @convention(c) (UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> UnsafeMutablePointer<json_t>?

/// `snats_service_config`: the Swift configuration plus the C callbacks, which become
/// closures at create time, when the service handle they receive exists.
final class CServiceConfig {
    var config: ServiceConfig
    var done: CCallback<CServiceDoneHandler>?
    var error: CCallback<CServiceErrorHandler>?
    var stats: CCallback<CStatsHandler>?
    init(_ config: ServiceConfig) { self.config = config }
}

/// `snats_endpoint_config`.
final class CEndpointConfig {
    var config = EndpointConfig()
}

/// `snats_service`: the service, and the C handles of its endpoints (with the C strings their
/// getters return), which live as long as the service handle.
final class CService {
    var service: Service?
    private(set) var idText: UnsafeMutablePointer<CChar>?
    private let lock = Condition()
    private var endpoints: [ObjectIdentifier: CEndpoint] = [:]

    func attach(_ service: Service) {
        self.service = service
        idText = strdup(service.id)
    }

    /// The handle of `endpoint`, made on first use.
    func handle(for endpoint: Endpoint) -> OpaquePointer {
        lock.withLock {
            if let box = endpoints[ObjectIdentifier(endpoint)] { return Handle.unretained(box) }
            let box = CEndpoint(endpoint)
            endpoints[ObjectIdentifier(endpoint)] = box
            return Handle.unretained(box)
        }
    }

    deinit { free(idText) }
}

/// `snats_endpoint`: borrowed from its service.
final class CEndpoint {
    let endpoint: Endpoint
    let name: UnsafeMutablePointer<CChar>?
    let subject: UnsafeMutablePointer<CChar>?

    init(_ endpoint: Endpoint) {
        self.endpoint = endpoint
        name = strdup(endpoint.name)
        subject = strdup(endpoint.subject)
    }

    deinit {
        free(name)
        free(subject)
    }
}

/// `snats_group`: owned by the caller; it keeps its service's handle alive.
final class CGroup {
    let group: Group
    let owner: CService
    init(_ group: Group, owner: CService) {
        self.group = group
        self.owner = owner
    }
}

/// A JSON object of strings as a dictionary; anything else is the caller's mistake.
private func stringMap(_ json: UnsafeMutablePointer<json_t>?, _ name: String) throws -> [String: String]? {
    guard let json else { return nil }
    guard json.pointee.type == JSON_OBJECT else { throw NATSError.invalidArgument("\(name) must be a JSON object") }
    var map: [String: String] = [:]
    var iterator = json_object_iter(json)
    while let current = iterator {
        guard let key = json_object_iter_key(current), let value = json_object_iter_value(current),
            value.pointee.type == JSON_STRING, let text = json_string_value(value)
        else { throw NATSError.invalidArgument("\(name) values must be strings") }
        map[String(cString: key)] = String(cString: text)
        iterator = json_object_iter_next(json, current)
    }
    return map
}

private func service(_ pointer: OpaquePointer?) throws -> Service {
    guard let service = try Handle.get(pointer, as: CService.self, "svc").service else {
        throw MicroError.stopped("the service handle was destroyed")
    }
    return service
}

private func endpointConfig(_ pointer: OpaquePointer?) -> EndpointConfig {
    guard let pointer else { return EndpointConfig() }
    return Handle.borrow(pointer, as: CEndpointConfig.self).config
}

// MARK: configurations

@_cdecl("snats_service_config_create")
public func snats_service_config_create(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ name: UnsafePointer<CChar>?, _ version: UnsafePointer<CChar>?
) -> Int32 {
    withHandleOut(out, "cfg") {
        let config = ServiceConfig(name: try requiredString(name, "name"), version: try requiredString(version, "version"))
        return CServiceConfig(config)
    }
}

@_cdecl("snats_service_config_destroy")
public func snats_service_config_destroy(_ pointer: OpaquePointer?) {
    if let pointer { Handle.release(pointer, as: CServiceConfig.self) }
}

private func updatingService(_ pointer: OpaquePointer?, _ body: (CServiceConfig) throws -> Void) -> Int32 {
    withStatus { try body(Handle.get(pointer, as: CServiceConfig.self, "cfg")) }
}

@_cdecl("snats_service_config_set_description")
public func snats_service_config_set_description(_ pointer: OpaquePointer?, _ text: UnsafePointer<CChar>?) -> Int32 {
    updatingService(pointer) { $0.config.description = optionalString(text) ?? "" }
}

@_cdecl("snats_service_config_set_metadata")
public func snats_service_config_set_metadata(_ pointer: OpaquePointer?, _ json: UnsafeMutablePointer<json_t>?) -> Int32 {
    updatingService(pointer) { $0.config.metadata = try stringMap(json, "metadata") ?? [:] }
}

@_cdecl("snats_service_config_set_queue_group")
public func snats_service_config_set_queue_group(
    _ pointer: OpaquePointer?, _ queue: UnsafePointer<CChar>?, _ disabled: Bool
) -> Int32 {
    updatingService(pointer) { box in
        box.config.queueGroup = optionalString(queue)
        box.config.queueGroupDisabled = disabled
    }
}

@_cdecl("snats_service_config_set_done_cb")
public func snats_service_config_set_done_cb(
    _ pointer: OpaquePointer?, _ callback: CServiceDoneHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    updatingService(pointer) { box in box.done = callback.map { CCallback(function: $0, closure: closure) } }
}

@_cdecl("snats_service_config_set_error_cb")
public func snats_service_config_set_error_cb(
    _ pointer: OpaquePointer?, _ callback: CServiceErrorHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    updatingService(pointer) { box in box.error = callback.map { CCallback(function: $0, closure: closure) } }
}

@_cdecl("snats_service_config_set_stats_cb")
public func snats_service_config_set_stats_cb(
    _ pointer: OpaquePointer?, _ callback: CStatsHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    updatingService(pointer) { box in box.stats = callback.map { CCallback(function: $0, closure: closure) } }
}

@_cdecl("snats_endpoint_config_create")
public func snats_endpoint_config_create(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    withStatus { try required(out, "cfg").pointee = Handle.make(CEndpointConfig()) }
}

@_cdecl("snats_endpoint_config_destroy")
public func snats_endpoint_config_destroy(_ pointer: OpaquePointer?) {
    if let pointer { Handle.release(pointer, as: CEndpointConfig.self) }
}

private func updatingEndpoint(_ pointer: OpaquePointer?, _ body: (CEndpointConfig) throws -> Void) -> Int32 {
    withStatus { try body(Handle.get(pointer, as: CEndpointConfig.self, "cfg")) }
}

@_cdecl("snats_endpoint_config_set_subject")
public func snats_endpoint_config_set_subject(_ pointer: OpaquePointer?, _ subject: UnsafePointer<CChar>?) -> Int32 {
    updatingEndpoint(pointer) { $0.config.subject = optionalString(subject) }
}

@_cdecl("snats_endpoint_config_set_metadata")
public func snats_endpoint_config_set_metadata(_ pointer: OpaquePointer?, _ json: UnsafeMutablePointer<json_t>?) -> Int32 {
    updatingEndpoint(pointer) { $0.config.metadata = try stringMap(json, "metadata") }
}

@_cdecl("snats_endpoint_config_set_queue_group")
public func snats_endpoint_config_set_queue_group(
    _ pointer: OpaquePointer?, _ queue: UnsafePointer<CChar>?, _ disabled: Bool
) -> Int32 {
    updatingEndpoint(pointer) { box in
        box.config.queueGroup = optionalString(queue)
        box.config.queueGroupDisabled = disabled
    }
}

@_cdecl("snats_endpoint_config_set_concurrency")
public func snats_endpoint_config_set_concurrency(_ pointer: OpaquePointer?, _ concurrency: Int32) -> Int32 {
    updatingEndpoint(pointer) { box in
        guard (1...1024).contains(concurrency) else {
            throw NATSError.invalidArgument("concurrency must be between 1 and 1024, got \(concurrency)")
        }
        box.config.concurrency = Int(concurrency)
    }
}

@_cdecl("snats_endpoint_config_set_pending_limits")
public func snats_endpoint_config_set_pending_limits(_ pointer: OpaquePointer?, _ messages: Int32, _ bytes: Int64) -> Int32 {
    updatingEndpoint(pointer) { box in
        guard messages >= 0, bytes >= 0 else { throw NATSError.invalidArgument("pending limits must not be negative") }
        box.config.pendingLimits = (Int(messages), Int(bytes))
    }
}

/// The Swift handler for a C one: the request is lent for the call.
private func requestHandler(_ function: CMicroHandler?, _ closure: UnsafeMutableRawPointer?) throws -> (MicroRequest) -> Void {
    let function = try required(function, "handler")
    return { request in function(Handle.unretained(request), closure) }
}

private func handOut(_ endpoint: Endpoint, of box: CService, _ out: UnsafeMutablePointer<OpaquePointer?>?) {
    let handle = box.handle(for: endpoint)
    out?.pointee = handle
}

@_cdecl("snats_service_create")
public func snats_service_create(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ connPointer: OpaquePointer?, _ cfg: OpaquePointer?
) -> Int32 {
    withHandleOut(out, "svc") {
        let cConfig = try Handle.get(cfg, as: CServiceConfig.self, "cfg")
        let conn = try connection(connPointer)
        var config = cConfig.config
        let box = CService()
        let handle = Handle.unretained(box)
        if let done = cConfig.done {
            config.doneHandler = { _ in done.function(handle, done.closure) }
        }
        if let onError = cConfig.error {
            config.errorHandler = { _, endpoint, error in
                let endpointHandle = endpoint.map { box.handle(for: $0) }
                error.description.withCString {
                    onError.function(handle, endpointHandle, CStatus(error).rawValue, $0, onError.closure)
                }
            }
        }
        if let stats = cConfig.stats {
            config.statsHandler = { info in
                info.name.withCString { name in stats.function(name, stats.closure).map { JSONValue(taking: $0) } }
            }
        }
        box.attach(try Service.add(to: conn, config: config))
        return box
    }
}

@_cdecl("snats_service_add_endpoint")
public func snats_service_add_endpoint(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?,
    _ cfg: OpaquePointer?, _ handler: CMicroHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    out?.pointee = nil
    return withStatus {
        let box = try Handle.get(pointer, as: CService.self, "svc")
        let endpoint = try service(pointer).addEndpoint(
            try requiredString(name, "name"), config: endpointConfig(cfg), handler: try requestHandler(handler, closure))
        handOut(endpoint, of: box, out)
    }
}

@_cdecl("snats_service_add_group")
public func snats_service_add_group(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?,
    _ queueGroup: UnsafePointer<CChar>?, _ queueGroupDisabled: Bool
) -> Int32 {
    withHandleOut(out, "group") {
        let box = try Handle.get(pointer, as: CService.self, "svc")
        let group = try service(pointer).addGroup(
            try requiredString(name, "name"), queueGroup: optionalString(queueGroup), queueGroupDisabled: queueGroupDisabled)
        return CGroup(group, owner: box)
    }
}

@_cdecl("snats_group_add_group")
public func snats_group_add_group(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?,
    _ queueGroup: UnsafePointer<CChar>?, _ queueGroupDisabled: Bool
) -> Int32 {
    withHandleOut(out, "group") {
        let parent = try Handle.get(pointer, as: CGroup.self, "parent")
        let group = try parent.group.addGroup(
            try requiredString(name, "name"), queueGroup: optionalString(queueGroup), queueGroupDisabled: queueGroupDisabled)
        return CGroup(group, owner: parent.owner)
    }
}

@_cdecl("snats_group_add_endpoint")
public func snats_group_add_endpoint(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?,
    _ cfg: OpaquePointer?, _ handler: CMicroHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    out?.pointee = nil
    return withStatus {
        let group = try Handle.get(pointer, as: CGroup.self, "group")
        let endpoint = try group.group.addEndpoint(
            try requiredString(name, "name"), config: endpointConfig(cfg), handler: try requestHandler(handler, closure))
        handOut(endpoint, of: group.owner, out)
    }
}

@_cdecl("snats_group_destroy")
public func snats_group_destroy(_ pointer: OpaquePointer?) {
    if let pointer { Handle.release(pointer, as: CGroup.self) }
}

@_cdecl("snats_service_stop")
public func snats_service_stop(_ pointer: OpaquePointer?) -> Int32 {
    withStatus { try service(pointer).stop() }
}

@_cdecl("snats_service_is_stopped")
public func snats_service_is_stopped(_ pointer: OpaquePointer?) -> Bool {
    guard let pointer, let service = Handle.borrow(pointer, as: CService.self).service else { return true }
    return !service.isRunning
}

@_cdecl("snats_service_reset")
public func snats_service_reset(_ pointer: OpaquePointer?) -> Int32 {
    withStatus { try service(pointer).reset() }
}

@_cdecl("snats_service_destroy")
public func snats_service_destroy(_ pointer: OpaquePointer?) {
    guard let pointer else { return }
    let box = Handle.borrow(pointer, as: CService.self)
    box.service?.stop()
    box.service = nil
    Handle.release(pointer, as: CService.self)
}

@_cdecl("snats_service_id")
public func snats_service_id(_ pointer: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let pointer else { return nil }
    return UnsafePointer(Handle.borrow(pointer, as: CService.self).idText)
}

/// The service's PING, INFO or STATS document.
private func document(
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<json_t>?>?, _ pointer: OpaquePointer?, _ make: (Service) -> JSONValue
) -> Int32 {
    withJSONOut(out, "json") { make(try service(pointer)) }
}

@_cdecl("snats_service_get_info")
public func snats_service_get_info(_ out: UnsafeMutablePointer<UnsafeMutablePointer<json_t>?>?, _ pointer: OpaquePointer?) -> Int32 {
    document(out, pointer) { $0.infoJSON() }
}

@_cdecl("snats_service_get_stats")
public func snats_service_get_stats(_ out: UnsafeMutablePointer<UnsafeMutablePointer<json_t>?>?, _ pointer: OpaquePointer?) -> Int32 {
    document(out, pointer) { $0.statsJSON() }
}

@_cdecl("snats_endpoint_name")
public func snats_endpoint_name(_ pointer: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let pointer else { return nil }
    return UnsafePointer(Handle.borrow(pointer, as: CEndpoint.self).name)
}

@_cdecl("snats_endpoint_subject")
public func snats_endpoint_subject(_ pointer: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let pointer else { return nil }
    return UnsafePointer(Handle.borrow(pointer, as: CEndpoint.self).subject)
}

// MARK: requests

private func request(_ pointer: OpaquePointer?) throws -> MicroRequest {
    try Handle.get(pointer, as: MicroRequest.self, "req")
}

@_cdecl("snats_micro_request_msg")
public func snats_micro_request_msg(_ pointer: OpaquePointer?) -> OpaquePointer? {
    guard let pointer else { return nil }
    return Handle.unretained(Handle.borrow(pointer, as: MicroRequest.self).message.storage)
}

@_cdecl("snats_micro_request_respond")
public func snats_micro_request_respond(
    _ pointer: OpaquePointer?, _ headers: OpaquePointer?, _ data: UnsafeRawPointer?, _ length: Int
) -> Int32 {
    withStatus {
        let request = try request(pointer)
        let bytes = Array(try payloadBytes(data, length))
        let extra = try headers.map { try Handle.get($0, as: CHeaders.self, "headers").headers }
        try request.respond(bytes, headers: extra)
    }
}

@_cdecl("snats_micro_request_respond_json")
public func snats_micro_request_respond_json(
    _ pointer: OpaquePointer?, _ json: UnsafeMutablePointer<json_t>?
) -> Int32 {
    withStatus {
        let request = try request(pointer)
        let json = try required(json, "json")
        try request.respondJSON(JSONValue(retaining: json))
    }
}

@_cdecl("snats_micro_request_respond_error")
public func snats_micro_request_respond_error(
    _ pointer: OpaquePointer?, _ code: UnsafePointer<CChar>?, _ description: UnsafePointer<CChar>?,
    _ headers: OpaquePointer?, _ data: UnsafeRawPointer?, _ length: Int
) -> Int32 {
    withStatus {
        let request = try request(pointer)
        let extra = try headers.map { try Handle.get($0, as: CHeaders.self, "headers").headers }
        try request.respondError(
            code: try requiredString(code, "code"), description: try requiredString(description, "description"),
            data: Array(try payloadBytes(data, length)), headers: extra)
    }
}

@_cdecl("snats_micro_request_retain")
public func snats_micro_request_retain(_ pointer: OpaquePointer?) -> OpaquePointer? {
    guard let pointer else { return nil }
    Unmanaged<MicroRequest>.fromOpaque(UnsafeRawPointer(pointer)).retain().takeUnretainedValue().keep()
    return pointer
}

@_cdecl("snats_micro_request_release")
public func snats_micro_request_release(_ pointer: OpaquePointer?) {
    if let pointer { Handle.release(pointer, as: MicroRequest.self) }
}

// MARK: discovery

private func discover(
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<json_t>?>?, _ connPointer: OpaquePointer?, _ verb: MonitoringVerb,
    _ name: UnsafePointer<CChar>?, _ id: UnsafePointer<CChar>?, _ timeout: Int64, _ maxReplies: Int32
) -> Int32 {
    withJSONOut(out, "replies") {
        let found = try DiscoveryClient(connection: try connection(connPointer)).gather(
            verb, name: optionalString(name), id: optionalString(id), timeoutMilliseconds: try positiveTimeout(timeout),
            maxReplies: Int(maxReplies))
        let array = JSONValue.array()
        for document in found { array.append(document) }
        return array
    }
}

@_cdecl("snats_micro_ping")
public func snats_micro_ping(
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<json_t>?>?, _ conn: OpaquePointer?, _ name: UnsafePointer<CChar>?,
    _ id: UnsafePointer<CChar>?, _ timeout: Int64, _ maxReplies: Int32
) -> Int32 {
    discover(out, conn, .ping, name, id, timeout, maxReplies)
}

@_cdecl("snats_micro_info")
public func snats_micro_info(
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<json_t>?>?, _ conn: OpaquePointer?, _ name: UnsafePointer<CChar>?,
    _ id: UnsafePointer<CChar>?, _ timeout: Int64, _ maxReplies: Int32
) -> Int32 {
    discover(out, conn, .info, name, id, timeout, maxReplies)
}

@_cdecl("snats_micro_stats")
public func snats_micro_stats(
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<json_t>?>?, _ conn: OpaquePointer?, _ name: UnsafePointer<CChar>?,
    _ id: UnsafePointer<CChar>?, _ timeout: Int64, _ maxReplies: Int32
) -> Int32 {
    discover(out, conn, .stats, name, id, timeout, maxReplies)
}

private func discover(
    _ connPointer: OpaquePointer?, _ verb: MonitoringVerb, _ name: UnsafePointer<CChar>?, _ id: UnsafePointer<CChar>?,
    _ timeout: Int64, _ maxReplies: Int32, _ callback: CJSONHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withStatus {
        let callback = try required(callback, "cb")
        try DiscoveryClient(connection: try connection(connPointer)).gather(
            verb, name: optionalString(name), id: optionalString(id), timeoutMilliseconds: try positiveTimeout(timeout),
            maxReplies: Int(maxReplies)
        ) { outcome in
            report(outcome.mapError { $0 as Error }.map { found in
                let array = JSONValue.array()
                for document in found { array.append(document) }
                return array
            }, to: callback, closure)
        }
    }
}

@_cdecl("snats_micro_ping_cb")
public func snats_micro_ping_cb(
    _ conn: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ id: UnsafePointer<CChar>?, _ timeout: Int64, _ maxReplies: Int32,
    _ callback: CJSONHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    discover(conn, .ping, name, id, timeout, maxReplies, callback, closure)
}

@_cdecl("snats_micro_info_cb")
public func snats_micro_info_cb(
    _ conn: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ id: UnsafePointer<CChar>?, _ timeout: Int64, _ maxReplies: Int32,
    _ callback: CJSONHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    discover(conn, .info, name, id, timeout, maxReplies, callback, closure)
}

@_cdecl("snats_micro_stats_cb")
public func snats_micro_stats_cb(
    _ conn: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ id: UnsafePointer<CChar>?, _ timeout: Int64, _ maxReplies: Int32,
    _ callback: CJSONHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    discover(conn, .stats, name, id, timeout, maxReplies, callback, closure)
}
