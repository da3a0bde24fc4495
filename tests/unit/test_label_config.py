"""Label config parsing through label-studio-sdk, and the errors users see in Label Studio."""

import pytest

from functions.common.errors import LabelConfigError
from functions.common.label_config import check_simple_classes, parse_label_config

pytestmark = pytest.mark.unit


def config(control_attrs: str = "", video_attrs: str = 'frameRate="25"', labels: str = '<Label value="ball"/>') -> str:
    return (
        f'<View><Video name="video" value="$video" {video_attrs}/>'
        f'<TimelineLabels name="videoLabels" toName="video" {control_attrs}>{labels}</TimelineLabels></View>'
    )


def test_simple_control_defaults():
    # GIVEN a plain TimelineLabels config
    (spec,) = parse_label_config(config())
    # THEN it is simple mode, pointed at the video, with its frame rate and label
    assert (spec.name, spec.to_name, spec.value_key, spec.trainable) == ("videoLabels", "video", "video", False)
    assert spec.frame_rate == 25.0 and spec.labels == ["ball"]
    assert spec.score_threshold is None


def test_trainable_params_are_read():
    xml = config(
        'model_trainable="true" model_classifier_epochs="7" model_classifier_sequence_size="32" '
        'model_classifier_hidden_size="8" model_classifier_num_layers="2" model_score_threshold="0.4"'
    )
    (spec,) = parse_label_config(xml)
    assert spec.trainable
    assert (spec.params.epochs, spec.params.sequence_size, spec.params.hidden_size, spec.params.num_layers) == (
        7,
        32,
        8,
        2,
    )
    assert spec.score_threshold == 0.4


def test_default_frame_rate_is_24_and_field_reference_reads_task_data():
    (spec,) = parse_label_config(config(video_attrs=""))
    assert spec.frame_rate == 24.0
    (spec,) = parse_label_config(config(video_attrs='frameRate="$fps"'))
    assert spec.frame_rate is None and spec.frame_rate_for({"fps": "30"}) == 30.0
    with pytest.raises(LabelConfigError, match='"fps"'):
        spec.frame_rate_for({})


@pytest.mark.parametrize(
    ("attrs", "video", "needle"),
    [
        ('model_trainable="maybe"', 'frameRate="25"', "model_trainable"),
        ('model_classifier_epochs="many"', 'frameRate="25"', "model_classifier_epochs"),
        ('model_score_threshold="1.5"', 'frameRate="25"', "model_score_threshold"),
        ('model_classifer_epochs="5"', 'frameRate="25"', "model_classifer_epochs"),
        ("", 'frameRate="fast"', "frameRate"),
    ],
)
def test_bad_attribute_errors_name_the_attribute(attrs, video, needle):
    with pytest.raises(LabelConfigError, match=needle):
        parse_label_config(config(attrs, video))


def test_config_without_video_timeline_is_rejected():
    with pytest.raises(LabelConfigError, match="TimelineLabels"):
        parse_label_config(
            '<View><Image name="img" value="$image"/><Choices name="c" toName="img"><Choice value="a"/></Choices></View>'
        )


def test_skipped_control_is_not_used():
    with pytest.raises(LabelConfigError, match="no usable control"):
        parse_label_config(config('model_skip="true"'))


def test_unparsable_config():
    with pytest.raises(LabelConfigError):
        parse_label_config("<View><Video")


def test_simple_classes_match_case_insensitively_and_via_predicted_values():
    labels = '<Label value="Ball" predicted_values="soccer ball, tennis ball"/><Label value="background"/>'
    (spec,) = parse_label_config(config(labels=labels))
    mapping = check_simple_classes(spec, ["tennis ball", "Background", "soccer ball"])
    assert mapping == {"Ball": [2, 0], "background": [1]}


def test_simple_label_without_class_names_predicted_values():
    (spec,) = parse_label_config(config(labels='<Label value="flash"/>'))
    with pytest.raises(LabelConfigError, match="predicted_values"):
        check_simple_classes(spec, ["ball", "background"])
