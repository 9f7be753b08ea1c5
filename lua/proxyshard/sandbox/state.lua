-- proxyshard.sandbox.state: the sandbox's world, as the README documents
-- it. The module lives in proxyshard.sandbox.world.state.
return require "proxyshard.sandbox.world.state"
