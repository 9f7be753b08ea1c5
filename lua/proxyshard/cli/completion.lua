--- `proxyshard completion bash|zsh|fish`: the shell's completion script
-- for proxyshard, written by lua-argparse (get_bash_complete,
-- get_zsh_complete, get_fish_complete) from the whole parser: every
-- command, its options, and after `help` the command names.
--
--   source <(proxyshard completion bash)          # in ~/.bashrc
--   proxyshard completion zsh > ~/.zfunc/_proxyshard   # a folder on $fpath
--   proxyshard completion fish > ~/.config/fish/completions/proxyshard.fish
-- @module proxyshard.cli.completion
local M = {}

--- The shells, and the parser's method for each.
M.SHELLS = { bash = "get_bash_complete", zsh = "get_zsh_complete", fish = "get_fish_complete" }
M.SHELL_NAMES = { "bash", "zsh", "fish" }

--- The completion script for `shell` ("bash", "zsh" or "fish").
function M.script(shell)
  local method = assert(M.SHELLS[shell], "no such shell")
  local help = require "proxyshard.cli.help_command"
  -- `help` completes the command names
  help.completing = true
  local ok, parser = pcall(require("proxyshard.cli.parser").build)
  help.completing = false
  if not ok then error(parser, 0) end
  return parser[method](parser)
end

--- The command (see proxyshard.cli.commands).
M.command = {
  name = "completion",
  summary = "the completion script of bash, zsh or fish for proxyshard (source it, or save it where the shell "
    .. "looks)",
  usage = "proxyshard completion bash|zsh|fish",
}

function M.command.configure(cmd)
  cmd:argument("shell", "bash, zsh or fish"):choices(M.SHELL_NAMES):argname("SHELL"):target("shell")
  cmd:epilog("bash: `source <(proxyshard completion bash)` (in ~/.bashrc), or save it as "
    .. "~/.local/share/bash-completion/completions/proxyshard. zsh: save it as _proxyshard in a folder on "
    .. "$fpath, before compinit. fish: save it as ~/.config/fish/completions/proxyshard.fish.")
end

function M.command.run(ctx, args)
  ctx:out(M.script(args.shell))
  return 0
end

return M
