// Our own paraphrases for each task (not the reference package's wording).
// Conventions: a cell sentence in a model input or response is followed by
// "."; {multi_cell_sentences} already ends each cell with ".\n", so the next
// line follows it directly; a model input ends with a short cue ("Cell type:")
// and no trailing space, because the response is tokenised on its own and
// appended after it. A task has one response template, so that scoring
// candidate answers (constrained prediction) compares like with like.
#include "text/builtin_prompts.hpp"

namespace c2s {

namespace {

constexpr std::string_view kCellTypePrediction = R"json({
  "task": "cell_type_prediction",
  "model_input": [
    "Here are the {num_genes} most highly expressed genes of a single {organism} cell, listed from highest to lowest expression.\nCell sentence: {cell_sentence}.\nCell type:",
    "Single-cell RNA-seq profile ({organism}): the top {num_genes} genes of one cell, ranked by expression.\n{cell_sentence}.\nWhich cell type is this?\nAnswer:",
    "Annotate this {organism} cell. Its {num_genes} most abundant transcripts, in decreasing order, are:\n{cell_sentence}.\nAnnotation:",
    "The genes below are the {num_genes} highest-expressed genes of an unlabelled {organism} cell, most expressed first. Use its marker genes to name its cell type.\nCell sentence: {cell_sentence}.\nCell type:",
    "Cell sentence ({organism}, top {num_genes} genes by expression): {cell_sentence}.\nWhat cell type does this expression profile indicate?\nCell type:",
    "You are annotating a single-cell atlas. One {organism} cell expresses these genes, ordered from most to least expressed (top {num_genes}):\n{cell_sentence}.\nAssigned cell type:",
    "Classify the following {organism} cell by cell type. Genes are ranked by expression level; the first {num_genes} are shown.\nCell sentence: {cell_sentence}.\nPredicted cell type:",
    "Top {num_genes} expressed genes, in decreasing order, of one cell from {organism}:\n{cell_sentence}.\nThis cell is best described as:",
    "From the ranked expression of {num_genes} genes in a {organism} cell, infer its identity.\nRanked genes: {cell_sentence}.\nCell identity:",
    "{cell_sentence}.\nThe line above lists the {num_genes} most expressed genes of a {organism} cell, highest first. State the cell type.\nCell type:"
  ],
  "response": ["{cell_type}."]
})json";

constexpr std::string_view kCellTypeGeneration = R"json({
  "task": "cell_type_generation",
  "model_input": [
    "Generate a {organism} cell of type {cell_type}. List its {num_genes} most highly expressed genes, from highest to lowest expression.\nCell sentence:",
    "Cell type: {cell_type}\nOrganism: {organism}\nWrite a plausible cell sentence for such a cell: its top {num_genes} genes ranked by expression.\nCell sentence:",
    "Simulate the expression profile of one {organism} cell annotated as {cell_type}. Give its {num_genes} most expressed genes in decreasing order.\nCell sentence:",
    "Produce a ranked list of the top {num_genes} genes, most expressed first, for a single {organism} cell whose cell type is {cell_type}.\nCell sentence:",
    "What would a {organism} cell of type {cell_type} look like? Answer with its {num_genes} highest-expressed genes, ordered by descending expression.\nCell sentence:",
    "Create a synthetic single-cell profile. Organism: {organism}. Cell type: {cell_type}. Output the {num_genes} most highly expressed genes from highest to lowest.\nCell sentence:",
    "List, in order of decreasing expression, the {num_genes} genes most strongly expressed by a typical {organism} cell labelled {cell_type}.\nCell sentence:",
    "Sample a new cell from the {cell_type} population of a {organism} single-cell dataset, written as its top {num_genes} genes ranked by expression.\nCell sentence:"
  ],
  "response": ["{cell_sentence}."]
})json";

constexpr std::string_view kTissuePrediction = R"json({
  "task": "tissue_prediction",
  "model_input": [
    "Below are {num_cells} {organism} cells from the same tissue, each given as its {num_genes} most highly expressed genes in decreasing order of expression.\n{multi_cell_sentences}Which tissue do these cells come from?\nTissue:",
    "These {num_cells} cell sentences (top {num_genes} genes per cell, most expressed first) were sampled together from one {organism} tissue.\n{multi_cell_sentences}Name the tissue.\nTissue:",
    "Identify the tissue of origin of the following {num_cells} {organism} cells. Each cell lists its top {num_genes} genes ranked by expression.\n{multi_cell_sentences}Tissue of origin:",
    "A group of {num_cells} cells from a single {organism} sample, each written as its {num_genes} highest-expressed genes:\n{multi_cell_sentences}From the cell types and expression programs present, which tissue was sampled?\nAnswer:",
    "Ranked expression profiles of {num_cells} {organism} cells ({num_genes} genes each, highest first):\n{multi_cell_sentences}These cells were taken from the following tissue:",
    "Predict the tissue that contains all of these {num_cells} {organism} cells. For each cell, its {num_genes} most abundant transcripts are listed in descending order.\n{multi_cell_sentences}Predicted tissue:",
    "{multi_cell_sentences}Above are {num_cells} {organism} cells from one tissue, each shown as its top {num_genes} expressed genes. What is the tissue?\nTissue:",
    "Tissue identification. Organism: {organism}. Cells: {num_cells}. Genes per cell: {num_genes}, ordered by decreasing expression.\n{multi_cell_sentences}Tissue:"
  ],
  "response": ["{tissue}."]
})json";

constexpr std::string_view kTissueConditionalGeneration = R"json({
  "task": "tissue_conditional_generation",
  "model_input": [
    "Generate {num_cells} {organism} cells sampled from {tissue}. Write each cell as its {num_genes} most highly expressed genes, from highest to lowest expression.\nCell sentences:\n",
    "Tissue: {tissue}\nOrganism: {organism}\nWrite {num_cells} plausible cell sentences for cells of this tissue, each listing the top {num_genes} genes ranked by expression.\nCell sentences:\n",
    "Simulate a small single-cell sample of {num_cells} {organism} cells dissociated from {tissue}. For each cell give its {num_genes} highest-expressed genes in decreasing order.\nCell sentences:\n",
    "What might {num_cells} cells drawn from a {organism} {tissue} sample look like? Describe each by its top {num_genes} genes, most expressed first.\nCell sentences:\n",
    "Create {num_cells} synthetic {organism} cells whose tissue of origin is {tissue}; list each cell's {num_genes} most abundant transcripts by descending expression.\nCell sentences:\n",
    "Produce ranked expression profiles ({num_genes} genes each, highest first) for {num_cells} cells from the {tissue} of a {organism} donor.\nCell sentences:\n",
    "Sample {num_cells} cells from {organism} {tissue} and write each one as a cell sentence of its top {num_genes} expressed genes.\nCell sentences:\n"
  ],
  "response": ["{multi_cell_sentences}"]
})json";

constexpr std::string_view kNaturalLanguageInterpretation = R"json({
  "task": "natural_language_interpretation",
  "model_input": [
    "Below are {num_cells} {organism} cells, each given as its {num_genes} most highly expressed genes in decreasing order.\n{multi_cell_sentences}Write an abstract that summarises the biology these cells reveal.\nAbstract:",
    "Read the following {num_cells} cell sentences from a {organism} single-cell study (top {num_genes} genes per cell, most expressed first).\n{multi_cell_sentences}Summarise the study these cells likely come from, as a scientific abstract.\nAbstract:",
    "{multi_cell_sentences}The cells above ({num_cells} {organism} cells, {num_genes} top-ranked genes each) come from one dataset. Describe the dataset and its biological findings in the style of a paper abstract.\nAbstract:",
    "Interpret these {num_cells} {organism} single-cell expression profiles, each listed as its {num_genes} highest-expressed genes:\n{multi_cell_sentences}Give a concise abstract of the biological context: tissue, cell types, condition and key findings.\nAbstract:",
    "Here is a sample of {num_cells} cells from a {organism} single-cell RNA-seq experiment; each cell is given as its top {num_genes} genes ranked by expression.\n{multi_cell_sentences}What study could these cells belong to? Answer with its abstract.\nAbstract:",
    "Summarise in natural language what the following {num_cells} {organism} cells show. Each cell is written as its {num_genes} most abundant transcripts, highest first.\n{multi_cell_sentences}Summary:"
  ],
  "response": ["{abstract}"]
})json";

constexpr std::string_view kPerturbationPrediction = R"json({
  "task": "perturbation_prediction",
  "model_input": [
    "Below is an unperturbed {organism} cell, written as its {num_genes} most highly expressed genes in decreasing order.\nControl cell: {control_cell_sentence}.\nPredict this cell's expression after perturbation with {perturbation_name}, as the top {num_genes} genes of the perturbed cell.\nPerturbed cell:",
    "Perturbation: {perturbation_name}\nControl cell sentence ({organism}, top {num_genes} genes): {control_cell_sentence}.\nWrite the cell sentence of the same kind of cell after this perturbation.\nPerturbed cell sentence:",
    "A {organism} control cell expresses these genes, ranked from highest to lowest: {control_cell_sentence}.\nIf the cell were treated with {perturbation_name}, what would its {num_genes} most expressed genes be?\nPerturbed cell:",
    "Predict the transcriptional response to {perturbation_name}. Starting cell (untreated, {organism}, top {num_genes} genes by expression): {control_cell_sentence}.\nResponding cell sentence:",
    "In silico perturbation. Organism: {organism}. Perturbation: {perturbation_name}.\nBaseline cell: {control_cell_sentence}.\nGive the perturbed cell's top {num_genes} genes in decreasing order of expression.\nPerturbed cell:",
    "Here is the cell sentence of a control {organism} cell: {control_cell_sentence}.\nApply {perturbation_name} and write the resulting cell sentence ({num_genes} genes, most expressed first).\nResult:",
    "How does {perturbation_name} change this {organism} cell? Control expression, top {num_genes} genes ranked: {control_cell_sentence}.\nExpression after {perturbation_name}:"
  ],
  "response": ["{perturbed_cell_sentence}."]
})json";

constexpr std::string_view kLabelPrediction = R"json({
  "task": "label_prediction",
  "model_input": [
    "Here are the {num_genes} most highly expressed genes of a single {organism} cell, from highest to lowest expression.\nCell sentence: {cell_sentence}.\nPredict the {label_name} of this cell.\nAnswer:",
    "Cell sentence ({organism}, top {num_genes} genes by expression): {cell_sentence}.\nWhat is the {label_name} of this cell?\nAnswer:",
    "Given the ranked expression of one {organism} cell (its {num_genes} most expressed genes, highest first), infer the {label_name}.\n{cell_sentence}.\n{label_name}:",
    "The {num_genes} highest-expressed genes of a {organism} cell, in decreasing order: {cell_sentence}.\nFrom this profile, determine the cell's {label_name}.\nAnswer:",
    "Annotate the {label_name} of the following {organism} cell. Genes are ranked by expression level; the first {num_genes} are shown.\nCell sentence: {cell_sentence}.\nAnnotation:",
    "{cell_sentence}.\nThese are the top {num_genes} genes of one {organism} cell, most expressed first. What is its {label_name}?\nAnswer:",
    "Classify this {organism} cell by {label_name}. Top {num_genes} genes ranked by expression: {cell_sentence}.\n{label_name}:"
  ],
  "response": ["{label}."]
})json";

}  // namespace

std::string_view builtin_prompts_json(PromptTask task) {
  switch (task) {
    case PromptTask::CellTypePrediction: return kCellTypePrediction;
    case PromptTask::CellTypeGeneration: return kCellTypeGeneration;
    case PromptTask::TissuePrediction: return kTissuePrediction;
    case PromptTask::TissueConditionalGeneration: return kTissueConditionalGeneration;
    case PromptTask::NaturalLanguageInterpretation: return kNaturalLanguageInterpretation;
    case PromptTask::PerturbationPrediction: return kPerturbationPrediction;
    case PromptTask::LabelPrediction: return kLabelPrediction;
  }
  return {};
}

PromptTemplates builtin_prompts(PromptTask task) {
  PromptTemplates t = PromptTemplates::parse(builtin_prompts_json(task), "built-in " + std::string(task_name(task)));
  validate_templates(t, task);
  return t;
}

}  // namespace c2s
