-- proxyshard.ip: IP literals compared canonically (RFC 5952). The module
-- lives in proxyshard.wire.ip; this name is the one the docs document.
return require "proxyshard.wire.ip"
