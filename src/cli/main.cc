#include "cli/cli.h"

int main(int argc, char** argv) { return crew::cli::Run(argc, argv); }
