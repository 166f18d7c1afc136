package diff_test

const examples = "../../testdata/examples"
