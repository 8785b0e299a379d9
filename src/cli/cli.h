// crew's command line (SPEC N7): `crew start`, `crew --version`. main() only calls Run().
#pragma once

namespace crew::cli {

// Returns the process exit code: 0 on success, 1 on a bad flag or a failure to start.
int Run(int argc, char** argv);

}  // namespace crew::cli
