"""The conformance suite (`prum conformance`): checks any implementation of a state's services against the contracts."""
