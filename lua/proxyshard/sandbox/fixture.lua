-- proxyshard.sandbox.fixture: the sandbox's starting data, as docs/sandbox.md
-- documents it. The module lives in proxyshard.sandbox.world.fixture.
return require "proxyshard.sandbox.world.fixture"
