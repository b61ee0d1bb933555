"""Each loader reads labels and speakers from a tiny fixture laid out like its corpus."""
from __future__ import annotations

from pathlib import Path

import pytest

from moodline.training.corpora import CorpusError, load_corpus, parse_data_arg

from training_fixtures import voice


def touch(root: Path, *names: str) -> None:
    for i, name in enumerate(names):
        voice(root / name, 150, seconds=0.3, seed=i)


def labels_by_name(corpus) -> dict[str, tuple[str, str]]:
    return {clip.path.name: (clip.label, clip.speaker) for clip in corpus.clips}


def test_ravdess_speech_and_song_with_actor_as_speaker(tmp_path):
    touch(tmp_path, "Actor_01/03-01-05-02-01-01-01.wav", "Actor_02/03-02-04-01-02-02-02.wav")
    assert labels_by_name(load_corpus("ravdess", tmp_path)) == {
        "03-01-05-02-01-01-01.wav": ("angry", "ravdess:01"),
        "03-02-04-01-02-02-02.wav": ("sad", "ravdess:02"),
    }
    speech = load_corpus("ravdess-speech", tmp_path)
    assert labels_by_name(speech) == {"03-01-05-02-01-01-01.wav": ("angry", "ravdess:01")}


def test_ravdess_skips_video_files_and_offers_gender_labels(tmp_path):
    touch(tmp_path, "Actor_01/03-01-02-01-01-01-01.wav", "Actor_02/03-01-08-01-01-01-02.wav",
          "Actor_02/02-01-08-01-01-01-02.wav")
    plain = load_corpus("ravdess", tmp_path)
    assert len(plain.clips) == 2  # modality 02 (video only) is not audio
    gendered = load_corpus("ravdess-gender", tmp_path)
    assert sorted(c.label for c in gendered.clips) == ["female_surprised", "male_calm"]


def test_tess_emotion_from_file_name_and_speaker_typo(tmp_path):
    touch(tmp_path, "OAF_Fear/OAF_back_fear.wav", "YAF_pleasant_surprised/YAF_dog_ps.wav",
          "OAF_neutral/OA_bite_neutral.wav")
    assert labels_by_name(load_corpus("tess", tmp_path)) == {
        "OAF_back_fear.wav": ("fearful", "tess:OAF"),
        "YAF_dog_ps.wav": ("surprised", "tess:YAF"),
        "OA_bite_neutral.wav": ("neutral", "tess:OAF"),
    }


def test_savee_original_and_flattened_layouts(tmp_path):
    touch(tmp_path, "AudioData/DC/sa01.wav", "AudioData/DC/su02.wav", "flat/JK_a03.wav", "flat/KL_n04.wav")
    assert labels_by_name(load_corpus("savee", tmp_path)) == {
        "sa01.wav": ("sad", "savee:DC"), "su02.wav": ("surprised", "savee:DC"),
        "JK_a03.wav": ("angry", "savee:JK"), "KL_n04.wav": ("neutral", "savee:KL"),
    }


def test_crema_d(tmp_path):
    touch(tmp_path, "AudioWAV/1001_DFA_ANG_XX.wav", "AudioWAV/1002_IEO_HAP_HI.wav")
    assert labels_by_name(load_corpus("crema-d", tmp_path)) == {
        "1001_DFA_ANG_XX.wav": ("angry", "crema_d:1001"), "1002_IEO_HAP_HI.wav": ("happy", "crema_d:1002")}


def test_emodb_drops_boredom_with_a_count(tmp_path):
    touch(tmp_path, "wav/03a01Fa.wav", "wav/10b02Wb.wav", "wav/03a01La.wav", "wav/08a04Lc.wav")
    corpus = load_corpus("emodb", tmp_path)
    assert labels_by_name(corpus) == {"03a01Fa.wav": ("happy", "emodb:03"), "10b02Wb.wav": ("angry", "emodb:10")}
    assert corpus.dropped == {"boredom": 2}
    assert "dropped 2 'boredom'" in corpus.summary()


def test_nemo_speaker_and_emotion_from_file_name(tmp_path):
    touch(tmp_path, "samples/EB0_anger_1.ogg", "samples/WR0_happiness_64.ogg", "samples/KD0_fear_3.wav",
          "samples/SM0_sadness_12.ogg", "samples/IC0_surprised_7.ogg", "samples/MK0_neutral_2.ogg",
          "samples/notes_about_it.ogg")
    assert labels_by_name(load_corpus("nemo", tmp_path)) == {
        "EB0_anger_1.ogg": ("angry", "nemo:EB0"), "WR0_happiness_64.ogg": ("happy", "nemo:WR0"),
        "KD0_fear_3.wav": ("fearful", "nemo:KD0"), "SM0_sadness_12.ogg": ("sad", "nemo:SM0"),
        "IC0_surprised_7.ogg": ("surprised", "nemo:IC0"), "MK0_neutral_2.ogg": ("neutral", "nemo:MK0"),
    }


def test_msp_improv_uses_consensus_labels_and_drops_other(tmp_path):
    touch(tmp_path, "Audio/session1/S01A/R/MSP-IMPROV-S01A-F01-R-FM01.wav",
          "Audio/session1/S01A/S/MSP-IMPROV-S01A-M01-S-MF01.wav",
          "Audio/session2/S02H/P/MSP-IMPROV-S02H-F02-P-FM03.wav")
    (tmp_path / "Evaluation.txt").write_text(
        "UTD-IMPROV-S01A-F01-R-FM01.avi; N; A:3.0; V:3.0; D:3.0; N:1.0\n"
        "UTD-IMPROV-S01A-M01-S-MF01.avi; O; A:2.0; V:2.0; D:2.0; N:1.0\n")
    corpus = load_corpus("msp-improv", tmp_path)
    assert labels_by_name(corpus) == {
        "MSP-IMPROV-S01A-F01-R-FM01.wav": ("neutral", "msp_improv:F01"),  # evaluators heard neutral
        "MSP-IMPROV-S02H-F02-P-FM03.wav": ("happy", "msp_improv:F02"),  # not rated: scenario target
    }
    assert corpus.dropped == {"O": 1}


def test_folder_per_label_with_speaker_folders(tmp_path):
    touch(tmp_path, "anger/ann/a.wav", "joy/bob/b.wav", "boredom/bob/c.wav", "Sad/d.wav")
    corpus = load_corpus("folder", tmp_path)
    assert labels_by_name(corpus) == {"a.wav": ("angry", "folder:ann"), "b.wav": ("happy", "folder:bob"),
                                      "d.wav": ("sad", "folder:unknown")}
    assert corpus.dropped == {"boredom": 1}


def test_csv_manifest_with_relative_paths(tmp_path):
    touch(tmp_path, "clips/one.wav", "clips/two.wav", "clips/three.wav")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("path,label,speaker\nclips/one.wav,Fear,sp1\nclips/two.wav,happy,sp2\n"
                        "clips/three.wav,contempt,sp2\n")
    corpus = load_corpus("csv", manifest)
    assert labels_by_name(corpus) == {"one.wav": ("fearful", "csv:sp1"), "two.wav": ("happy", "csv:sp2")}
    assert corpus.dropped == {"contempt": 1}


def test_manifest_naming_a_missing_file_is_refused(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("gone.wav,angry,sp1\n")
    with pytest.raises(CorpusError, match="gone.wav: no such file"):
        load_corpus("csv", manifest)


def test_user_errors_are_one_clear_line(tmp_path):
    with pytest.raises(CorpusError, match="unknown corpus 'ravdes'"):
        load_corpus("ravdes", tmp_path)
    with pytest.raises(CorpusError, match="no such folder"):
        load_corpus("tess", tmp_path / "missing")
    with pytest.raises(CorpusError, match="no tess audio files"):
        load_corpus("tess", tmp_path)
    with pytest.raises(CorpusError, match="expected NAME=PATH"):
        parse_data_arg("/data/ravdess")
    assert parse_data_arg("ravdess=/data/x") == ("ravdess", Path("/data/x"))
