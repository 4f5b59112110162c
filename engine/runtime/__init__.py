"""What every back end shares at run time: result types, run-time exceptions, built-in functions."""
