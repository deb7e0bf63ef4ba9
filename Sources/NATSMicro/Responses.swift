import NATS

/// The discovery documents as values, read leniently: a missing or mistyped field becomes its
/// empty value, so services of older or looser clients still show up. `document` keeps the
/// whole JSON for fields this type does not name.
public struct ServiceIdentity: Equatable {
    public var name: String
    public var id: String
    public var version: String
    public var metadata: [String: String]

    public init(name: String, id: String, version: String, metadata: [String: String] = [:]) {
        self.name = name
        self.id = id
        self.version = version
        self.metadata = metadata
    }

    init(_ document: JSONValue) {
        name = document.string("name") ?? ""
        id = document.string("id") ?? ""
        version = document.string("version") ?? ""
        metadata = document.value("metadata").map(stringMap) ?? [:]
    }
}

public struct PingResponse {
    public var service: ServiceIdentity
    public let document: JSONValue

    public init(_ document: JSONValue) {
        service = ServiceIdentity(document)
        self.document = document
    }
}

public struct InfoResponse {
    public struct Endpoint: Equatable {
        public var name: String
        public var subject: String
        public var queueGroup: String
        public var metadata: [String: String]?
    }

    public var service: ServiceIdentity
    public var description: String
    public var endpoints: [Endpoint]
    public let document: JSONValue

    public init(_ document: JSONValue) {
        service = ServiceIdentity(document)
        description = document.string("description") ?? ""
        endpoints = (document.value("endpoints")?.items ?? []).map { item in
            Endpoint(name: item.string("name") ?? "", subject: item.string("subject") ?? "",
                     queueGroup: item.string("queue_group") ?? "",
                     metadata: item.value("metadata").flatMap { $0.isObject ? stringMap($0) : nil })
        }
        self.document = document
    }
}

public struct StatsResponse {
    public struct Endpoint {
        public var name: String
        public var subject: String
        public var queueGroup: String
        public var stats: EndpointStats
        /// The stats handler's `data`, nil when null or absent.
        public var data: JSONValue?
    }

    public var service: ServiceIdentity
    /// RFC 3339, as the service wrote it.
    public var started: String
    public var endpoints: [Endpoint]
    public let document: JSONValue

    public init(_ document: JSONValue) {
        service = ServiceIdentity(document)
        started = document.string("started") ?? ""
        endpoints = (document.value("endpoints")?.items ?? []).map { item in
            var stats = EndpointStats()
            stats.numRequests = Int64(item.int("num_requests") ?? 0)
            stats.numErrors = Int64(item.int("num_errors") ?? 0)
            stats.lastError = item.string("last_error") ?? ""
            stats.processingTime = Int64(item.int("processing_time") ?? 0)
            let data = item.value("data").flatMap { $0.isNull ? nil : $0 }
            return Endpoint(name: item.string("name") ?? "", subject: item.string("subject") ?? "",
                            queueGroup: item.string("queue_group") ?? "", stats: stats, data: data)
        }
        self.document = document
    }
}

private func stringMap(_ object: JSONValue) -> [String: String] {
    guard object.isObject else { return [:] }
    var map: [String: String] = [:]
    for key in object.keys { if let value = object.string(key) { map[key] = value } }
    return map
}
