"""Report views of the built-in tasks: what each contributes to the report pages besides its
template fragment (summary rows, sample sizes, limitations, figures). Imported lazily by the
task classes' ``report_view``; every number is copied from the task's result."""
