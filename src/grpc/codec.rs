//! The protobuf codec of Tollgate's services: prost's, except that a
//! request that is not a valid protobuf message (bad wire types, truncated
//! fields, invalid UTF-8 in a string) is the caller's error,
//! `INVALID_ARGUMENT`, not `INTERNAL`, which stays for our own bugs. (The
//! generated clients share the codec; for them a response that does not
//! decode would read as INVALID_ARGUMENT too.)
//!
//! Both directions go through a plain byte slice or vector instead of
//! tonic's buffers: prost reads and writes a field at a time, a byte at a
//! time for varints, and every one of those steps through tonic's
//! `DecodeBuf`/`EncodeBuf` is a call into `BytesMut` (an `advance` per
//! read, an out-of-line `put_slice` and `memcpy` per byte written); on a
//! slice or a `Vec` they are inlined pointer moves.

use std::cell::RefCell;

use bytes::{Buf as _, BufMut as _};
use tonic::{
    Status,
    codec::{BufferSettings, DecodeBuf, EncodeBuf},
};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

/// The codec the generated services use (`codec_path` in `build.rs`).
#[derive(Debug)]
pub struct Codec<T, U>(ProstCodec<T, U>);

impl<T, U> Default for Codec<T, U> {
    fn default() -> Self {
        Self(ProstCodec::default())
    }
}

impl<T, U> tonic::codec::Codec for Codec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = Encoder<T>;
    type Decoder = Decoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        Encoder(self.0.encoder())
    }

    fn decoder(&mut self) -> Self::Decoder {
        Decoder(self.0.decoder())
    }
}

/// Scratch buffers above this many bytes are not kept for the next
/// message, so one large response does not hold its memory per thread.
const KEPT_SCRATCH: usize = 16 * 1024;

thread_local! {
    /// Where a message is encoded before it is copied into tonic's buffer
    /// in one piece; reused by the thread's next message.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// prost's encoder, writing each message into a reused vector first.
#[derive(Debug)]
pub struct Encoder<T>(ProstEncoder<T>);

impl<T: prost::Message> tonic::codec::Encoder for Encoder<T> {
    type Item = T;
    type Error = Status;

    fn encode(&mut self, item: T, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => {
                scratch.clear();
                scratch.reserve(item.encoded_len());
                // A `Vec` grows as needed: encoding into it cannot fail.
                item.encode_raw(&mut *scratch);
                buf.put_slice(&scratch);
                if scratch.capacity() > KEPT_SCRATCH {
                    *scratch = Vec::new();
                }
                Ok(())
            }
            // Only if an encode ran inside another on this thread, which
            // tonic does not do: prost's own path, straight into `buf`.
            Err(_) => tonic::codec::Encoder::encode(&mut self.0, item, buf),
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        tonic::codec::Encoder::buffer_settings(&self.0)
    }
}

/// prost's decoder, with decode errors as `INVALID_ARGUMENT`.
#[derive(Debug)]
pub struct Decoder<U>(ProstDecoder<U>);

fn invalid(why: &str) -> Status {
    Status::invalid_argument(format!("the message is not valid protobuf: {why}"))
}

impl<U: prost::Message + Default> tonic::codec::Decoder for Decoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        let len = buf.remaining();
        if buf.chunk().len() < len {
            return self
                .0
                .decode(buf)
                .map_err(|status| invalid(status.message()));
        }
        // The whole message is one slice (tonic buffers a message before
        // decoding it).
        let decoded = U::decode(buf.chunk());
        buf.advance(len);
        // Worded as tonic-prost words it (`DecodeError`'s text).
        decoded.map(Some).map_err(|e| invalid(&e.to_string()))
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}
