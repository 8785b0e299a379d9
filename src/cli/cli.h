// crew's command line (SPEC N7, N6): `crew start`, `work`, `backup`, `restore`, `--version`.
// main() only calls Run().
#pragma once

namespace crew::cli {

// Returns the process exit code: 0 on success, 1 on a bad flag or a failure to start.
int Run(int argc, char** argv);

}  // namespace crew::cli
