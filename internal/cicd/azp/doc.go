// Package azp reads Azure Pipelines YAML: it expands a pipeline file and its
// templates at compile time (${{ }} expressions, template: references,
// typed parameters, extends) into a typed Pipeline, evaluates the expression
// language shared by ${{ }}, $[ ] and condition:, expands $(macro) references
// and prints the expanded pipeline back as YAML.
//
// azp is not a runner: it does not start processes, decide which jobs run or
// hold run-time state. Run-time answers (the status functions succeeded(),
// failed(), ...; counter()) come from a StatusContext and a counter function
// the caller supplies.
//
// Every error about a user's file is a *spec.Error carrying
// file:line:col and what was expected.
package azp
