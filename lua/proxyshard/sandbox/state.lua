-- proxyshard.sandbox.state: the sandbox's world, as docs/sandbox.md documents
-- it. The module lives in proxyshard.sandbox.world.state.
return require "proxyshard.sandbox.world.state"
