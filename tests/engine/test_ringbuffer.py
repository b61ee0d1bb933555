import threading
import time

import numpy as np

from moodline.engine.ringbuffer import RingBuffer


def ramp(start, n):
    return np.arange(start, start + n, dtype=np.float32)


def test_reads_from_an_absolute_index_across_the_wrap():
    ring = RingBuffer(10)
    ring.write(ramp(0, 7))
    ring.write(ramp(7, 6))  # wraps
    assert ring.written == 13 and ring.oldest == 3
    first, samples = ring.read(5)
    assert first == 5
    np.testing.assert_array_equal(samples, ramp(5, 8))
    first, samples = ring.read(8, max_samples=3)
    np.testing.assert_array_equal(samples, ramp(8, 3))


def test_a_slow_reader_loses_the_oldest_audio_and_is_told_how_much():
    ring = RingBuffer(10)
    ring.write(ramp(0, 25))
    first, samples = ring.read(4)
    assert first == 15  # 11 samples were overwritten before they were read
    np.testing.assert_array_equal(samples, ramp(15, 10))


def test_nothing_new_reads_empty():
    ring = RingBuffer(4)
    ring.write(ramp(0, 3))
    first, samples = ring.read(3)
    assert first == 3 and len(samples) == 0


def test_concurrent_producer_and_consumer_see_every_sample_in_order():
    ring = RingBuffer(4096)
    block = 480
    total = 1000 * block
    seen, lost = [], 0
    done = threading.Event()

    def produce():
        for start in range(0, total, block):
            ring.write(ramp(start, block))
            if start % (20 * block) == 0:
                time.sleep(0.0005)  # a sound card delivers in bursts, letting the reader in
        done.set()

    thread = threading.Thread(target=produce)
    thread.start()
    pos = 0
    while not (done.is_set() and pos >= ring.written):
        first, samples = ring.read(pos)
        lost += first - pos
        if len(samples):
            seen.append(samples)
        pos = first + len(samples)
    thread.join()
    got = np.concatenate(seen)
    # Whatever was read is exactly the stream, in order, with gaps only where it says it lost audio.
    assert len(got) + lost == total
    assert np.all(np.diff(got) >= 1)
    assert np.array_equal(np.unique(got), got)
    assert got[-1] == total - 1
    assert len(got) > ring.capacity  # the reader really did read while the writer wrote


def test_a_reader_hears_what_it_missed_as_silence_of_the_same_length():
    from moodline.engine.ringbuffer import GAP_BLOCK, RingReader

    ring = RingBuffer(100)
    reader = RingReader(ring)
    ring.write(np.arange(1, 41, dtype=np.float32))
    assert np.concatenate(reader.read()).tolist() == list(range(1, 41))
    assert reader.read() == [] and reader.available == 0
    ring.write(np.arange(41, 291, dtype=np.float32))  # 250 more: the oldest 150 are overwritten
    pieces = reader.read()
    heard = np.concatenate(pieces)
    assert len(heard) == 250 and reader.lost == 150  # times stay true: as long as what was written
    assert not heard[:150].any() and heard[150:].tolist() == list(range(191, 291))
    other = RingReader(ring, start=0)  # each consumer keeps its own place
    assert sum(len(p) for p in other.read()) == 290 and other.lost == 190
    huge = RingReader(ring, start=-3 * GAP_BLOCK)  # a reader hours behind gets silence in bounded pieces
    assert max(len(p) for p in huge.read()) <= GAP_BLOCK


def test_a_replayed_recording_arrives_as_from_a_microphone():
    import time

    from moodline.engine.sources import FileReplaySource

    audio = np.random.default_rng(0).uniform(-0.5, 0.5, 16000).astype(np.float32)  # 1 s
    source = FileReplaySource(audio, 16000, speed=10.0)
    source.start()
    started = time.monotonic()
    while not source.done:
        time.sleep(0.005)
    took = time.monotonic() - started
    source.stop()
    assert 0.05 <= took <= 0.5  # ten times real time
    _, heard = source.ring.read(0)
    assert np.array_equal(heard[:16000], audio) and not heard[16000:].any()  # then a quiet room
    looping = FileReplaySource(audio[:480], 16000, speed=20.0, loop=True)
    looping.start()
    while looping.played < 2000:
        time.sleep(0.005)
    looping.vanish()
    assert not looping.active
    looping.stop()
    _, again = looping.ring.read(0)
    assert np.array_equal(again[:1440], np.tile(audio[:480], 3))
