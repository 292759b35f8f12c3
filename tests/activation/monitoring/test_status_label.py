from activation.templatetags.dataflow_tags import status_label


def test_it_reads_every_status_in_words():
    assert status_label("policy_violation") == "Policy violation"
    assert status_label("processing") == "Processing"
    assert status_label("enabled") == "Enabled"
