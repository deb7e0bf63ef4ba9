import NATS

/// The discovery verbs of ADR-32 and their subjects.
public enum MonitoringVerb: String, CaseIterable {
    case ping = "PING"
    case info = "INFO"
    case stats = "STATS"

    /// `$SRV.VERB`, `$SRV.VERB.name` or `$SRV.VERB.name.id`.
    public func subject(name: String? = nil, id: String? = nil) -> String {
        var subject = "$SRV." + rawValue
        if let name, !name.isEmpty {
            subject += "." + name
            if let id, !id.isEmpty { subject += "." + id }
        }
        return subject
    }

    /// As `subject`, refusing an id without a name (nats.go's ErrServiceNameRequired).
    public func checkedSubject(name: String?, id: String?) throws -> String {
        if (name ?? "").isEmpty && !(id ?? "").isEmpty {
            throw MicroError.invalidArgument("a service name is needed to address an instance id")
        }
        if let name, !name.isEmpty, !MicroNames.isValidName(name) {
            throw MicroError.invalidArgument("service name \(quoted(name)) is not valid")
        }
        if let id, !id.isEmpty, !MicroNames.isValidName(id) {
            throw MicroError.invalidArgument("instance id \(quoted(id)) is not valid")
        }
        return subject(name: name, id: id)
    }

    var responseType: String { "io.nats.micro.v1.\(rawValue.lowercased())_response" }
}

/// The PING, INFO and STATS documents, with every standard field always present (metadata
/// `{}`, description a string, endpoints an array, queue_group a string, `data` null without a
/// stats handler), so that nats.go, nats.py, natscli's schemas and nats-micro all read them.
enum MonitoringDocument {
    static func ping(_ service: Service) -> JSONValue { identity(service, .ping) }

    static func info(_ service: Service) -> JSONValue {
        let document = identity(service, .info)
        document.set("description", service.config.description)
        let endpoints = JSONValue.array()
        for endpoint in service.endpoints {
            let item = JSONValue.object()
            item.set("name", endpoint.name)
            item.set("subject", endpoint.subject)
            item.set("queue_group", endpoint.queueGroup ?? "")
            if let metadata = endpoint.metadata { item.set("metadata", JSONValue.stringObject(metadata)) } else {
                item.setNull("metadata")
            }
            endpoints.append(item)
        }
        document.set("endpoints", endpoints)
        return document
    }

    static func stats(_ service: Service) -> JSONValue {
        let document = identity(service, .stats)
        document.set("started", service.started.rfc3339)
        let endpoints = JSONValue.array()
        for endpoint in service.endpoints {
            let info = endpoint.info
            let item = JSONValue.object()
            item.set("name", info.name)
            item.set("subject", info.subject)
            item.set("queue_group", info.queueGroup)
            item.set("num_requests", info.stats.numRequests)
            item.set("num_errors", info.stats.numErrors)
            item.set("last_error", info.stats.lastError)
            item.set("processing_time", info.stats.processingTime)
            item.set("average_processing_time", info.stats.averageProcessingTime)
            if let data = service.config.statsHandler?(info) { item.set("data", data) } else { item.setNull("data") }
            endpoints.append(item)
        }
        document.set("endpoints", endpoints)
        return document
    }

    /// The standard fields, in nats.go's order.
    private static func identity(_ service: Service, _ verb: MonitoringVerb) -> JSONValue {
        let document = JSONValue.object()
        document.set("name", service.config.name)
        document.set("id", service.id)
        document.set("version", service.config.version)
        document.set("metadata", JSONValue.stringObject(service.config.metadata))
        document.set("type", verb.responseType)
        return document
    }
}
