// Express 4 installed as `express4` has no types of its own; its application API is the one these tests use.
declare module 'express4' {
  const express: () => import('express').Express;
  export default express;
}
